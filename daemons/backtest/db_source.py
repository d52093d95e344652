"""Captured market data from PostgreSQL as a lazy sequence of tapes.

The window is read in slices of event time (30 minutes by default): each slice's public
trades, tickers and funding rows are fetched sorted (``daemons.db.captured``) and merged
into one tape in replay order, so a backtest of a month never holds more than a slice in
memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from daemons.db import captured
from daemons.db.session import Database
from gridcore.sim.tape import FUNDING, TICKER, TRADE, MarketTape

SLICE_MS = 30 * 60_000


def captured_span(db: Database, symbol: str) -> tuple[int, int] | None:
    """First and last captured trade time of ``symbol`` (ms), or ``None`` if none."""
    with db.market_data() as conn:
        return captured.trade_span(conn, symbol)


def db_tapes(db: Database, symbol: str, start_ms: int, end_ms: int, *,
             slice_ms: int = SLICE_MS) -> Iterator[MarketTape]:
    """Tapes of ``[start_ms, end_ms)``, one per slice that holds any row, in order."""
    for lo in range(start_ms, end_ms, slice_ms):
        with db.market_data() as conn:
            trades, tickers, funding = captured.market_rows(
                conn, symbol, lo, min(end_ms, lo + slice_ms))
        if trades or tickers or funding:
            yield _tape(symbol, trades, tickers, funding)


def _tape(symbol: str, trades: list[tuple], tickers: list[tuple],
          funding: list[tuple]) -> MarketTape:
    def column(rows: list[tuple], index: int, dtype: type) -> np.ndarray:
        return np.array([row[index] for row in rows], dtype=dtype)

    counts = (len(trades), len(tickers), len(funding))
    return MarketTape.from_rows(
        symbol,
        ts=np.concatenate([column(r, 0, np.int64) for r in (trades, tickers, funding)]),
        local_ts=np.concatenate([column(r, 1, np.int64) for r in (trades, tickers, funding)]),
        kind=np.repeat(np.array([TRADE, TICKER, FUNDING], np.int8), counts),
        price=np.concatenate([column(r, 2, np.float64) for r in (trades, tickers, funding)]),
        size=np.concatenate([column(trades, 3, np.float64), np.full(len(tickers), np.nan),
                             column(funding, 3, np.float64)]),
        is_buy=np.concatenate([column(trades, 4, bool), np.zeros(len(tickers) + len(funding),
                                                                  bool)]),
        seq=np.concatenate([np.arange(n, dtype=np.int64) for n in counts]),
        trade_ids=np.array([row[5] for row in trades] + [""] * (len(tickers) + len(funding)),
                           dtype=object),
    )
