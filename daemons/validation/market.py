"""Questions about the window's market, answered fast on the replay's own tape.

A comparison asks, for thousands of fills, whether the market touched a price or traded
through it between two times, and what the last price was at each equity sample. Range
minima and maxima come from per-block extremes (blocks of 1,024 rows), so a question over
hours of trades costs a few thousand comparisons, not a scan of every trade.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from gridcore.events import BUY
from gridcore.sim.tape import FUNDING, TICKER, TRADE, MarketTape

_BLOCK = 1024


class RangeExtremes:
    """Minimum and maximum of a float column over any row range."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        n = len(self.values)
        padded = np.full(-(-n // _BLOCK) * _BLOCK, np.nan)
        padded[:n] = self.values
        blocks = padded.reshape(-1, _BLOCK)
        with np.errstate(invalid="ignore"):
            self.block_min = np.nanmin(blocks, axis=1) if n else np.zeros(0)
            self.block_max = np.nanmax(blocks, axis=1) if n else np.zeros(0)

    def extremes(self, lo: int, hi: int) -> tuple[float, float] | None:
        """(min, max) of rows ``lo:hi``, ``None`` when the range is empty."""
        if hi <= lo:
            return None
        first, last = -(-lo // _BLOCK), hi // _BLOCK
        if first >= last:
            part = self.values[lo:hi]
            return float(part.min()), float(part.max())
        parts = [self.values[lo:first * _BLOCK], self.values[last * _BLOCK:hi]]
        mins = [float(self.block_min[first:last].min())] + [float(p.min()) for p in parts if len(p)]
        maxs = [float(self.block_max[first:last].max())] + [float(p.max()) for p in parts if len(p)]
        return min(mins), max(maxs)


class MarketIndex:
    """The tape's trades, prints (trades and tickers) and funding rows, indexed by time."""

    def __init__(self, tape: MarketTape) -> None:
        trades = tape.kind == TRADE
        prints = trades | (tape.kind == TICKER)
        self.trade_ts = tape.ts[trades]
        self.trades = RangeExtremes(tape.price[trades])
        self.print_ts = tape.ts[prints]
        self.prints = RangeExtremes(tape.price[prints])
        funding = tape.kind == FUNDING
        self.funding_ts = tape.ts[funding]
        self.funding_rate = tape.size[funding]
        self.funding_mark = tape.price[funding]

    def touched(self, side: str, price: float, start_ms: int, end_ms: int) -> bool:
        """Whether a trade or ticker reached ``price`` from the order's side, both ends in."""
        return _reached(self.print_ts, self.prints, side, price, start_ms, end_ms, strict=False)

    def traded_through(self, side: str, price: float, start_ms: int, end_ms: int) -> bool:
        """Whether a public trade printed strictly beyond ``price`` (below it for a BUY)."""
        return _reached(self.trade_ts, self.trades, side, price, start_ms, end_ms, strict=True)

    def last_prices(self, times: np.ndarray) -> np.ndarray:
        """The last print at or before each time (NaN before the first print)."""
        at = np.searchsorted(self.print_ts, times, side="right") - 1
        out = np.full(len(at), np.nan)
        ok = at >= 0
        out[ok] = self.prints.values[at[ok]]
        return out

    def last_price_before(self, ts: int) -> Decimal | None:
        """The last print strictly before ``ts``: what the simulated broker knows when a
        funding row of that millisecond (first in replay order) is charged."""
        at = int(np.searchsorted(self.print_ts, ts, side="left")) - 1
        return None if at < 0 else Decimal(repr(float(self.prints.values[at])))

    def last_price(self) -> Decimal | None:
        """The window's last print, the mark the comparison values open positions at."""
        if not len(self.print_ts):
            return None
        return Decimal(repr(float(self.prints.values[-1])))

    def funding_rows(self) -> list[tuple[int, Decimal, Decimal | None]]:
        """(time, rate, mark or None) of each funding row, in time order."""
        return [(int(ts), Decimal(repr(float(rate))),
                 None if np.isnan(mark) else Decimal(repr(float(mark))))
                for ts, rate, mark in zip(self.funding_ts, self.funding_rate,
                                          self.funding_mark, strict=True)]


def _reached(ts: np.ndarray, column: RangeExtremes, side: str, price: float, start_ms: int,
             end_ms: int, *, strict: bool) -> bool:
    lo = int(np.searchsorted(ts, start_ms, side="left"))
    hi = int(np.searchsorted(ts, end_ms, side="right"))
    span = column.extremes(lo, hi)
    if span is None:
        return False
    low, high = span
    if side == BUY:
        return low < price if strict else low <= price
    return high > price if strict else high >= price
