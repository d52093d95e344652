"""Seeded synthetic tapes calibrated on the bundled real trades.

Why a block bootstrap: real trade flow comes in bursts (one taker order sweeps several
makers in the same millisecond: three quarters of the bundled inter-arrival gaps are
zero) and clusters of same-side trades. Resampling whole blocks of the real sequence
(gaps, taker sides and price moves in ticks), each started on a burst boundary and
mirrored at random to remove the sample's drift, keeps those properties; trade sizes are
drawn from the empirical size distribution. Everything is numpy so that a day of trades
(about 1.5 million) is generated in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from daemons.marketdata.bars import Bar
from daemons.marketdata.trade import Trade
from daemons.marketdata.trades_csv import load_trade_arrays

BLOCK = 256
CHUNK = 65_536


@dataclass(frozen=True)
class Calibration:
    """Empirical arrays taken from a real trade capture (tick moves use ``tick``)."""

    sizes: np.ndarray
    gaps_ms: np.ndarray
    is_buy: np.ndarray
    dticks: np.ndarray
    block_starts: np.ndarray
    tick: float
    first_price: float

    @property
    def mean_size(self) -> float:
        return float(self.sizes.mean())


def calibrate(path: Path | str | None = None, tick: float = 0.1) -> Calibration:
    """Measure sizes, gaps, sides and tick moves of a trade CSV (default: bundled)."""
    cols = load_trade_arrays(path)
    ticks = np.rint(cols["price"] / tick).astype(np.int64)
    gaps = np.diff(cols["ts_ms"]).astype(np.float64)
    starts = np.flatnonzero(gaps[: len(gaps) - BLOCK] > 0)
    return Calibration(
        sizes=cols["size"],
        gaps_ms=gaps,
        is_buy=cols["is_buy"][1:],
        dticks=np.diff(ticks),
        block_starts=starts,
        tick=tick,
        first_price=float(cols["price"][0]),
    )


@lru_cache(maxsize=1)
def bundled_calibration() -> Calibration:
    """The calibration of the bundled Binance capture, computed once per process."""
    return calibrate()


def _block_starts(cal: Calibration, rng: np.random.Generator, count: int) -> np.ndarray:
    """Uniform positions moved forward to the next burst boundary.

    Drawing among boundaries directly would favour quiet stretches (they have more
    boundaries per trade) and thin out the bursts.
    """
    last = int(cal.block_starts[-1])
    spots = np.searchsorted(cal.block_starts, rng.integers(0, last + 1, count))
    return cal.block_starts[spots]


def generate_arrays(
    n: int,
    seed: int,
    start_ms: int = 0,
    start_price: float | None = None,
    calibration: Calibration | None = None,
) -> dict[str, np.ndarray]:
    """``n`` generated trades as arrays ``ts_ms``, ``price``, ``size``, ``is_buy``."""
    cal = calibration if calibration is not None else bundled_calibration()
    rng = np.random.default_rng(seed)
    blocks = -(-n // BLOCK)
    picks = _block_starts(cal, rng, blocks)
    idx = (picks[:, None] + np.arange(BLOCK)).ravel()[:n]
    mirror = np.repeat(rng.random(blocks) < 0.5, BLOCK)[:n]
    dticks = np.where(mirror, -cal.dticks[idx], cal.dticks[idx])
    is_buy = cal.is_buy[idx] ^ mirror
    first = start_price if start_price is not None else cal.first_price
    ticks = int(round(first / cal.tick)) + np.cumsum(dticks)
    ticks = np.maximum(ticks, 1)
    ts = start_ms + np.floor(np.cumsum(cal.gaps_ms[idx])).astype(np.int64)
    return {
        "ts_ms": ts,
        "price": np.round(ticks * cal.tick, 8),
        "size": rng.choice(cal.sizes, n),
        "is_buy": is_buy,
    }


def _to_trades(cols: dict[str, np.ndarray], prefix: str, first_id: int) -> Iterator[Trade]:
    sides = np.where(cols["is_buy"], "Buy", "Sell").tolist()
    for k, (ts, price, size) in enumerate(
        zip(cols["ts_ms"].tolist(), cols["price"].tolist(), cols["size"].tolist(), strict=True)
    ):
        yield Trade(ts, f"{prefix}{first_id + k}", sides[k], price, size)


def generate_trades(
    seed: int,
    start_ms: int = 0,
    start_price: float | None = None,
    limit: int | None = None,
    calibration: Calibration | None = None,
    chunk: int = CHUNK,
) -> Iterator[Trade]:
    """Yield generated trades forever (or ``limit`` of them), in chunks for speed.

    A live consumer (the venue) wants small chunks so that making one never stalls it.
    """
    produced, chunk_no, ts, price = 0, 0, start_ms, start_price
    while limit is None or produced < limit:
        n = chunk if limit is None else min(chunk, limit - produced)
        cols = generate_arrays(n, seed * 1_000_003 + chunk_no, ts, price, calibration)
        yield from _to_trades(cols, f"g{seed}-", produced)
        produced, chunk_no = produced + n, chunk_no + 1
        ts, price = int(cols["ts_ms"][-1]), float(cols["price"][-1])


def _bar_prices(bar: Bar, n: int, tick: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` prices from open to close through the bar's high and low, on the tick grid."""
    way = [bar.open, bar.low, bar.high, bar.close]
    if bar.close < bar.open:
        way = [bar.open, bar.high, bar.low, bar.close]
    lengths = np.abs(np.diff(way))
    total = lengths.sum()
    if total == 0 or n < 4:
        return np.full(n, round(bar.close / tick) * tick)
    knots = np.concatenate(([0.0], np.cumsum(lengths) / total))
    u = np.linspace(0.0, 1.0, n)
    prices = np.interp(u, knots, way) + rng.integers(-2, 3, n) * tick
    prices = np.clip(prices, bar.low, bar.high)
    for knot, value in zip(knots, way, strict=True):
        prices[min(int(round(knot * (n - 1))), n - 1)] = value
    return np.round(np.rint(prices / tick) * tick, 8)


def _tick_rule_sides(prices: np.ndarray, first_buy: bool) -> np.ndarray:
    """Taker side by the tick rule: up-tick Buy, down-tick Sell, zero-tick as before."""
    moves = np.sign(np.diff(prices, prepend=prices[0]))
    moves[0] = 1 if first_buy else -1
    nonzero = np.where(moves != 0, np.arange(len(moves)), 0)
    return moves[np.maximum.accumulate(nonzero)] > 0


def trades_from_bars(
    bars: Iterable[Bar],
    seed: int,
    calibration: Calibration | None = None,
    max_per_bar: int = 3000,
) -> Iterator[Trade]:
    """Fill each one-minute bar with trades through its open, high, low and close.

    The trade count follows the bar's volume (quote currency, divided by the close) and
    the empirical mean trade size; times follow the empirical gaps stretched to the bar.
    """
    cal = calibration if calibration is not None else bundled_calibration()
    rng = np.random.default_rng(seed)
    for number, bar in enumerate(bars):
        base_volume = bar.volume / bar.close if bar.close > 0 else 0.0
        n = int(np.clip(round(base_volume / cal.mean_size), 4, max_per_bar))
        sizes = rng.choice(cal.sizes, n)
        if base_volume > 0:
            sizes = np.maximum(np.round(sizes * base_volume / sizes.sum(), 3), 0.001)
        start = int(_block_starts(cal, rng, 1)[0])
        gaps = np.resize(cal.gaps_ms[start : start + n], n) + 1e-3
        offsets = np.floor(np.cumsum(gaps) / gaps.sum() * 59_999).astype(np.int64)
        prices = _bar_prices(bar, n, cal.tick, rng)
        buys = _tick_rule_sides(prices, bool(rng.random() < 0.5))
        cols = {"ts_ms": bar.ts_ms + offsets, "price": prices, "size": sizes, "is_buy": buys}
        yield from _to_trades(cols, f"b{number}-", 0)
