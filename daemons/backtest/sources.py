"""Market data sources for backtests, as :class:`~gridcore.sim.tape.MarketTape` columns.

Bybit pushes a linear ticker about every 100 ms; captured windows have those rows, but
trade files and generated tapes do not, so they get one synthetic ticker per 100 ms
interval at the last trade price (the merged ticker state a live consumer would hold).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from daemons.backtest.price_path import OFFSETS_MS, bar_path
from daemons.marketdata.bars import Bar, load_bars
from daemons.marketdata.generator import bundled_calibration, generate_arrays
from daemons.marketdata.trades_csv import load_trade_arrays
from gridcore.sim.tape import FUNDING, TICKER, TRADE, MarketTape

TICKER_INTERVAL_MS = 100
FUNDING_INTERVAL_MS = 8 * 3_600_000
DAY_MS = 86_400_000


def tape_from_trades(
    symbol: str,
    ts: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    is_buy: np.ndarray,
    *,
    funding_rate: float | None = 0.0001,
    ticker_interval_ms: int = TICKER_INTERVAL_MS,
) -> MarketTape:
    """Trades (sorted by time) plus a ticker every ``ticker_interval_ms`` and funding every
    8 hours.

    Every interval from the first trade to the last gets a ticker at the last price
    traded before its end (as Bybit keeps pushing tickers in quiet markets). The rows are
    placed straight into replay order (:func:`_replay_positions`), so building the tape
    does not hold a second, reordered copy of a day's columns.
    """
    if len(ts) == 0:
        raise ValueError("no trades in the source")
    ts = np.asarray(ts, dtype=np.int64)
    price = np.asarray(price, np.float64)
    tick_ts = np.arange((ts[0] // ticker_interval_ms + 1) * ticker_interval_ms, ts[-1] + 1,
                        ticker_interval_ms, dtype=np.int64)
    f_ts = np.zeros(0, np.int64)
    if funding_rate is not None:
        f_ts = np.arange((ts[0] // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS, ts[-1] + 1,
                         FUNDING_INTERVAL_MS, dtype=np.int64)
    parts = {  # kind: (times, prices, sizes, seq)
        TRADE: (ts, price, np.asarray(size, np.float64), np.arange(len(ts))),
        TICKER: (tick_ts, price[np.searchsorted(ts, tick_ts, side="left") - 1],
                 np.full(len(tick_ts), np.nan), np.arange(len(tick_ts))),
        FUNDING: (f_ts, price[np.searchsorted(ts, f_ts, side="left") - 1],
                  np.full(len(f_ts), funding_rate if funding_rate is not None else np.nan),
                  len(tick_ts) + np.arange(len(f_ts))),
    }
    return MarketTape.from_rows(symbol, **_merged(parts, np.asarray(is_buy, bool)))


def _replay_positions(times: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Where each row of each kind goes in replay order ``(ts, kind)``.

    Each kind's times are sorted and within a kind rows keep their order, so a row's
    position is its index plus the rows of the other kinds that sort before it: earlier
    times, and equal times of a kind with a lower priority.
    """
    positions = {}
    for kind, own in times.items():
        pos = np.arange(len(own), dtype=np.int64)
        for other, theirs in times.items():
            if other != kind:
                pos += np.searchsorted(theirs, own, side="right" if other < kind else "left")
        positions[kind] = pos
    return positions


def _merged(parts: dict[int, tuple[np.ndarray, ...]], is_buy: np.ndarray) -> dict[str, object]:
    """The columns of every kind, interleaved in replay order (``from_rows`` arguments)."""
    positions = _replay_positions({kind: part[0] for kind, part in parts.items()})
    n = sum(len(pos) for pos in positions.values())
    columns = {"ts": np.empty(n, np.int64), "kind": np.empty(n, np.int8),
               "price": np.empty(n, np.float64), "size": np.empty(n, np.float64),
               "is_buy": np.zeros(n, bool), "seq": np.empty(n, np.int64)}
    for kind, (times, prices, sizes, seq) in parts.items():
        pos = positions[kind]
        columns["ts"][pos], columns["kind"][pos] = times, kind
        columns["price"][pos], columns["size"][pos], columns["seq"][pos] = prices, sizes, seq
    columns["is_buy"][positions[TRADE]] = is_buy
    return columns


def generated_day(symbol: str = "BTCUSDT", *, seed: int = 1, trades: int = 1_500_000,
                  start_ms: int = 1_704_067_200_000) -> MarketTape:
    """A BTCUSDT-like day: calibrated generated trades spread over 24 h, tickers, funding."""
    cols = generate_arrays(trades, seed, start_ms=0, calibration=bundled_calibration())
    span = max(int(cols["ts_ms"][-1]), 1)
    ts = start_ms + (cols["ts_ms"].astype(np.float64) * ((DAY_MS - 1) / span)).astype(np.int64)
    return tape_from_trades(symbol, ts, cols["price"], cols["size"], cols["is_buy"])


def tape_from_trade_file(symbol: str, path: Path | str) -> MarketTape:
    """A trade CSV (Bybit public dump or the bundled Binance format) as a tape."""
    cols = load_trade_arrays(path)
    ts = cols["ts_ms"]
    if ts.size > 1 and bool(np.any(ts[1:] < ts[:-1])):  # files are in time order; be sure
        order = np.argsort(ts, kind="stable")
        cols = {name: column[order] for name, column in cols.items()}
    return tape_from_trades(symbol, cols["ts_ms"], cols["price"], cols["size"], cols["is_buy"])


def tape_from_bars(symbol: str, bars: list[Bar] | None = None) -> MarketTape:
    """One-minute bars as a price path: a ticker and a trade at open, both extremes, close.

    Each of the four trades carries a quarter of the bar's volume (in base units), so
    volume-based fill models see the bar's real volume at the prices it visited.
    """
    bars = load_bars() if bars is None else bars
    if not bars:
        raise ValueError("no bars in the source")
    ts = np.array([[b.ts_ms + o for o in OFFSETS_MS] for b in bars], np.int64).ravel()
    price = np.array([bar_path(b) for b in bars], np.float64).ravel()
    volume = np.repeat([b.volume / b.close / 4 if b.close > 0 else 0.0 for b in bars], 4)
    n = len(ts)
    return MarketTape.from_rows(
        symbol, ts=np.concatenate([ts, ts]),
        kind=np.concatenate([np.full(n, TRADE, np.int8), np.full(n, TICKER, np.int8)]),
        price=np.concatenate([price, price]),
        size=np.concatenate([np.round(volume, 6), np.full(n, np.nan)]),
        is_buy=np.zeros(2 * n, bool), seq=np.concatenate([np.arange(n), np.arange(n)]),
    )
