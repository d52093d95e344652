"""A price path from one-minute bars: the order in which a bar likely visited its prices.

A bar only says where the price opened, closed and how far it went; the path visits the
extreme nearer in direction first (a rising bar dips to its low before its high), which
is the usual assumption of bar-based backtests. The four points are spread over the
minute (:data:`OFFSETS_MS`).
"""

from __future__ import annotations

from daemons.marketdata.bars import Bar

#: Offsets (ms) of open, first extreme, second extreme and close inside a bar.
OFFSETS_MS = (0, 15_000, 30_000, 59_000)


def bar_path(bar: Bar) -> tuple[float, float, float, float]:
    """Open, then low and high in the bar's likely order, then close."""
    if bar.close >= bar.open:
        return (bar.open, bar.low, bar.high, bar.close)
    return (bar.open, bar.high, bar.low, bar.close)
