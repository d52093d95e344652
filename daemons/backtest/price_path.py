"""A price path from one-minute bars: four ticker events per bar, in a plausible order.

A bar only says where the price opened, closed and how far it went; the path visits the
extreme nearer in direction first (a rising bar dips to its low before its high), which
is the usual assumption of bar-based backtests. Ticks are spread over the minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from daemons.marketdata.bars import Bar
from gridcore.events import TickerEvent

#: Offsets (ms) of open, first extreme, second extreme and close inside a bar.
OFFSETS_MS = (0, 15_000, 30_000, 59_000)


def bar_path(bar: Bar) -> tuple[float, float, float, float]:
    """Open, then low and high in the bar's likely order, then close."""
    if bar.close >= bar.open:
        return (bar.open, bar.low, bar.high, bar.close)
    return (bar.open, bar.high, bar.low, bar.close)


def bars_to_tickers(bars: Iterable[Bar], symbol: str) -> Iterator[TickerEvent]:
    """Ticker events along each bar's path, in time order (local time = exchange time)."""
    seq = 0
    for bar in bars:
        for offset, price in zip(OFFSETS_MS, bar_path(bar), strict=True):
            seq += 1
            ts = bar.ts_ms + offset
            yield TickerEvent(symbol=symbol, exchange_ts=ts, local_ts=ts, seq=seq,
                              last_price=Decimal(repr(price)))
