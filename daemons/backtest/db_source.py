"""Captured market data from PostgreSQL as a lazy sequence of tapes, and back.

The window is read in slices of event time (30 minutes by default): each slice's public
trades, tickers and funding rows are fetched sorted (``daemons.db.captured``) and merged
into one tape in replay order, so a backtest of a month never holds more than a slice in
memory. :func:`store_tape` is the inverse: a tape written into the market tables as the
capture daemon would have stored it (tests and benchmarks make captured days with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import numpy as np

from daemons.db import captured
from daemons.db.copy_writer import copy_events
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms
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


def store_tape(db: Database, tape: MarketTape, batch_rows: int = 200_000) -> None:
    """Write ``tape`` into ``public_trades``, ``tickers`` and ``funding_rates``.

    Trade ids are the trades' sequence numbers (zero-padded), tickers' cross sequence
    theirs; prices and sizes become the shortest decimal that reads back as the same
    float, as the venue prints them.
    """
    def dec(value: float) -> Decimal:
        return Decimal(repr(value))

    kinds = {TRADE: "public_trades", TICKER: "tickers", FUNDING: "funding_rates"}
    for kind, table in kinds.items():
        rows = np.flatnonzero(tape.kind == kind)
        for lo in range(0, len(rows), batch_rows):
            part = rows[lo:lo + batch_rows]
            ts = [datetime_of_ms(t) for t in tape.ts[part].tolist()]
            local = [datetime_of_ms(t) for t in tape.local_ts[part].tolist()]
            price, size = tape.price[part].tolist(), tape.size[part].tolist()
            seq = tape.seq[part].tolist()
            if kind == TRADE:
                batch = [{"symbol": tape.symbol, "trade_id": f"{n:09d}", "exchange_ts": t,
                          "local_ts": lt, "side": "Buy" if buy else "Sell", "price": dec(p),
                          "size": dec(q)} for n, t, lt, buy, p, q in zip(
                    seq, ts, local, tape.is_buy[part].tolist(), price, size, strict=True)]
            elif kind == TICKER:
                batch = [{"symbol": tape.symbol, "exchange_ts": t, "local_ts": lt,
                          "cross_seq": n, "last_price": dec(p)}
                         for n, t, lt, p in zip(seq, ts, local, price, strict=True)]
            else:
                batch = [{"symbol": tape.symbol, "exchange_ts": t, "local_ts": lt,
                          "funding_rate": dec(q), "mark_price": None if p != p else dec(p)}
                         for t, lt, p, q in zip(ts, local, price, size, strict=True)]
            with db.market_data() as conn:
                copy_events(conn, table, batch)
