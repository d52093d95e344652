"""Seeded synthetic tapes for replay tests: trades on a random walk, tickers every 100 ms,
and a funding row every 8 hours."""

from __future__ import annotations

import numpy as np

from gridcore.sim.tape import FUNDING, TICKER, TRADE, MarketTape

START_MS = 1_700_000_000_000


def synthetic_tape(seed: int, n_trades: int, *, start: float = 30_000.0, tick: float = 0.1,
                   vol_ticks: int = 3, funding: bool = True) -> MarketTape:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(40.0, n_trades).astype(np.int64)
    ts = START_MS + np.cumsum(gaps)
    moves = rng.integers(-vol_ticks, vol_ticks + 1, n_trades)
    jumps = (rng.random(n_trades) < 0.001) * rng.integers(-400, 401, n_trades)
    ticks = np.maximum(np.round(start / tick) + np.cumsum(moves + jumps), 100)
    price = np.round(ticks * tick, 8)
    size = np.round(rng.choice([0.001, 0.002, 0.005, 0.01, 0.05, 0.2], n_trades), 3)
    is_buy = rng.random(n_trades) < 0.5
    # One ticker per 100 ms bucket that saw a trade, at that bucket's last trade price.
    bucket = ts // 100
    last_in_bucket = np.flatnonzero(np.diff(bucket, append=bucket[-1] + 1) != 0)
    tick_ts = (bucket[last_in_bucket] + 1) * 100
    parts = [
        dict(ts=ts, kind=np.full(n_trades, TRADE), price=price, size=size, is_buy=is_buy),
        dict(ts=tick_ts, kind=np.full(len(tick_ts), TICKER), price=price[last_in_bucket]),
    ]
    if funding:
        f_ts = np.arange(START_MS, ts[-1], 8 * 3_600_000, dtype=np.int64)[1:]
        if len(f_ts):
            at = np.searchsorted(ts, f_ts) - 1
            parts.append(dict(ts=f_ts, kind=np.full(len(f_ts), FUNDING), price=price[at],
                              size=rng.choice([0.0001, -0.00005, 0.0003], len(f_ts))))
    columns = {key: np.concatenate([p.get(key, np.full(len(p["ts"]), np.nan if key == "size"
                                                                else False))
                                    for p in parts])
               for key in ("ts", "kind", "price", "size", "is_buy")}
    return MarketTape.from_rows("BTCUSDT", **columns)
