"""Reads of captured data: what capture (and the trading daemon) stored, read back.

The backtest replays captured market data, a seeded replay starts from an account as it
was captured, and capture resumes where its stored data ends. Every such query lives
here, so the meaning of a column (event time, receipt time, the order of events within
a millisecond) is decided once, beside the schema, and the Dagster assets and the
comparison read what the CLI reads.

Each function runs in the caller's transaction: market data in ``db.market_data()``, an
account's data in its owner's ``db.unit_of_work(owner)``, so row-level security applies.
Times are epoch milliseconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from daemons.db.times import EPOCH_MS_SQL as _MS
from daemons.db.times import datetime_of_ms, ms_of_datetime

_TRADES = (
    f"SELECT {_MS.format('exchange_ts')}, {_MS.format('local_ts')}, price::float8,"
    " size::float8, side = 'Buy', trade_id FROM public_trades"
    " WHERE symbol = %s AND exchange_ts >= %s AND exchange_ts < %s"
    " ORDER BY exchange_ts, local_ts, trade_id"
)
_TICKERS = (
    f"SELECT {_MS.format('exchange_ts')}, {_MS.format('local_ts')}, last_price::float8"
    " FROM tickers WHERE symbol = %s AND exchange_ts >= %s AND exchange_ts < %s"
    " AND last_price IS NOT NULL ORDER BY exchange_ts, cross_seq"
)
_FUNDING = (
    f"SELECT {_MS.format('exchange_ts')}, {_MS.format('local_ts')},"
    " coalesce(mark_price::float8, 'NaN'), funding_rate::float8 FROM funding_rates"
    " WHERE symbol = %s AND exchange_ts >= %s AND exchange_ts < %s ORDER BY exchange_ts"
)
_SPAN = (
    f"SELECT min({_MS.format('exchange_ts')}), max({_MS.format('exchange_ts')})"
    " FROM public_trades WHERE symbol = %s"
)


# -- market data ------------------------------------------------------------------------

def trade_span(conn: psycopg.Connection, symbol: str) -> tuple[int, int] | None:
    """First and last captured trade time of ``symbol`` (ms), or ``None`` if none."""
    first, last = conn.execute(_SPAN, [symbol]).fetchone()
    return None if first is None else (int(first), int(last))


def market_rows(conn: psycopg.Connection, symbol: str, start_ms: int, end_ms: int,
                ) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The trades, tickers and funding rows of ``[start_ms, end_ms)``, each in replay order.

    Trades: (exchange ms, local ms, price, size, is buy, trade id); tickers: (exchange ms,
    local ms, last price); funding: (exchange ms, local ms, mark price or NaN, rate).
    """
    window = [symbol, datetime_of_ms(start_ms), datetime_of_ms(end_ms)]
    return (conn.execute(_TRADES, window).fetchall(),
            conn.execute(_TICKERS, window).fetchall(),
            conn.execute(_FUNDING, window).fetchall())


def last_trade(conn: psycopg.Connection, symbol: str) -> tuple[int, str] | None:
    """The newest stored trade of ``symbol``: (exchange ms, trade id), or None."""
    row = conn.execute("SELECT exchange_ts, trade_id FROM public_trades WHERE symbol = %s"
                       " ORDER BY exchange_ts DESC, trade_id DESC LIMIT 1", [symbol]).fetchone()
    return None if row is None else (ms_of_datetime(row[0]), row[1])


# -- one account (inside its owner's unit of work) --------------------------------------

def last_execution_ms(conn: psycopg.Connection, account_id: UUID) -> int | None:
    """Exchange time of the account's newest stored execution, or None."""
    row = conn.execute("SELECT max(exchange_ts) FROM private_executions WHERE account_id = %s",
                       [account_id]).fetchone()
    return None if row[0] is None else ms_of_datetime(row[0])


def maker_fee_rate(conn: psycopg.Connection, account_id: UUID, symbol: str) -> Decimal | None:
    """The fee rate of the account's newest captured maker execution of ``symbol``."""
    row = conn.execute(
        "SELECT fee_rate FROM private_executions WHERE account_id = %s AND symbol = %s"
        " AND is_maker AND fee_rate IS NOT NULL ORDER BY exchange_ts DESC LIMIT 1",
        [account_id, symbol]).fetchone()
    return None if row is None else row[0]


def positions_at(conn: psycopg.Connection, account_id: UUID, symbol: str, at_ms: int,
                 ) -> dict[int, tuple[Decimal, Decimal]]:
    """Hedge-mode position index (1, 2) to (size, average price), as last captured at or
    before ``at_ms``; a side never captured is absent."""
    return {
        int(idx): (size or Decimal(0), avg or Decimal(0))
        for idx, size, avg in conn.execute(
            "SELECT DISTINCT ON (position_idx) position_idx, size, avg_price FROM positions"
            " WHERE account_id = %s AND symbol = %s AND exchange_ts <= %s"
            " AND position_idx IN (1, 2) ORDER BY position_idx, exchange_ts DESC, seq DESC",
            [account_id, symbol, datetime_of_ms(at_ms)])
    }


def wallet_balance_at(conn: psycopg.Connection, account_id: UUID, coin: str, at_ms: int,
                      ) -> Decimal | None:
    """The account's wallet balance of ``coin`` as last captured at or before ``at_ms``."""
    row = conn.execute(
        "SELECT wallet_balance FROM wallets WHERE account_id = %s AND coin = %s"
        " AND exchange_ts <= %s ORDER BY exchange_ts DESC LIMIT 1",
        [account_id, coin, datetime_of_ms(at_ms)]).fetchone()
    return None if row is None else row[0]


def orders_at(conn: psycopg.Connection, account_id: UUID, symbol: str, at_ms: int,
              ) -> list[tuple[Any, ...]]:
    """Each order's newest captured state at or before ``at_ms`` (in no order): (order id,
    link id, side, price, qty, leaves qty, reduce only, position idx, status, created ms,
    order type, stop order type). Of two states in one millisecond the one with more
    executed is newer; ``stopOrderType`` UNKNOWN (a plain order) reads as ""."""
    return conn.execute(
        "SELECT * FROM (SELECT DISTINCT ON (order_id) order_id, order_link_id, side, price,"
        " qty, coalesce(leaves_qty, qty) AS leaves, reduce_only, position_idx, order_status,"
        f" {_MS.format('created_ts')} AS created_ms, order_type,"
        " coalesce(nullif(raw_json->>'stopOrderType', 'UNKNOWN'), '') AS stop_order_type"
        " FROM orders"
        " WHERE account_id = %s AND symbol = %s AND exchange_ts <= %s"
        " ORDER BY order_id, exchange_ts DESC, cum_exec_qty DESC NULLS LAST, local_ts DESC)"
        " latest",
        [account_id, symbol, datetime_of_ms(at_ms)]).fetchall()


def engine_snapshot_at(conn: psycopg.Connection, run_id: UUID, at_ms: int,
                       ) -> tuple[int, dict[str, Any]] | None:
    """The run's newest engine snapshot at or before ``at_ms``: (exchange ms, state)."""
    row = conn.execute(
        f"SELECT {_MS.format('exchange_ts')}, state FROM engine_snapshots"
        " WHERE run_id = %s AND exchange_ts <= %s ORDER BY exchange_ts DESC LIMIT 1",
        [run_id, datetime_of_ms(at_ms)]).fetchone()
    return None if row is None else (int(row[0]), row[1])
