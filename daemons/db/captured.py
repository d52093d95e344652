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


# -- one run (inside its owner's unit of work), for the comparison -----------------------

def snapshot_times(conn: psycopg.Connection, run_id: UUID, after_ms: int, limit: int,
                   ) -> list[int]:
    """Exchange times of the run's first ``limit`` engine snapshots later than
    ``after_ms``, oldest first."""
    return [int(ts) for (ts,) in conn.execute(
        f"SELECT {_MS.format('exchange_ts')} FROM engine_snapshots WHERE run_id = %s"
        " AND exchange_ts > %s ORDER BY exchange_ts LIMIT %s",
        [run_id, datetime_of_ms(after_ms), limit])]


def sim_filled_qty(conn: psycopg.Connection, run_id: UUID, at_ms: int) -> dict[str, Decimal]:
    """Per client id, the quantity the run's simulated executions filled up to ``at_ms``."""
    return dict(conn.execute(
        "SELECT order_link_id, sum(exec_qty) FROM sim_executions WHERE run_id = %s"
        " AND exchange_ts <= %s GROUP BY order_link_id",
        [run_id, datetime_of_ms(at_ms)]).fetchall())


def run_executions(conn: psycopg.Connection, run_id: UUID, account_id: UUID, symbol: str,
                   start_ms: int, end_ms: int) -> list[tuple[Any, ...]]:
    """The executions of ``[start_ms, end_ms)`` of the run's account and symbol that name
    the run, or name no run (capture stored them first), oldest first: (exchange ms,
    price, qty, side, link id, fee, order id, exec id, fee rate, closed PnL, exec type,
    run id). Which of the unnamed ones are the run's is the caller's to decide (by link
    id: several strategies may trade one symbol of an account)."""
    return conn.execute(
        f"SELECT {_MS.format('exchange_ts')}, exec_price, exec_qty, side,"
        " coalesce(order_link_id, ''), exec_fee, order_id, exec_id, fee_rate, closed_pnl,"
        " exec_type, run_id FROM private_executions"
        " WHERE account_id = %s AND symbol = %s AND exchange_ts >= %s AND exchange_ts < %s"
        " AND (run_id = %s OR run_id IS NULL) ORDER BY exchange_ts, exec_id",
        [account_id, symbol, datetime_of_ms(start_ms), datetime_of_ms(end_ms), run_id],
    ).fetchall()


_POSITION_REPORT = (
    f"{_MS.format('exchange_ts')}, position_idx, size, coalesce(avg_price, 0), mark_price,"
    " position_value, unrealised_pnl, cum_realised_pnl"
)


def position_reports(conn: psycopg.Connection, account_id: UUID, symbol: str, start_ms: int,
                     end_ms: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The account's position reports of ``symbol`` (hedge sides 1 and 2): the newest of
    each side at or before ``start_ms``, and those after it, before ``end_ms``, in the
    order captured. Rows: (exchange ms, side index, size, entry, mark, value, unrealised,
    cumulative realised)."""
    where = "account_id = %s AND symbol = %s AND position_idx IN (1, 2)"
    baseline = conn.execute(
        f"SELECT DISTINCT ON (position_idx) {_POSITION_REPORT} FROM positions WHERE {where}"
        " AND exchange_ts <= %s ORDER BY position_idx, exchange_ts DESC, seq DESC",
        [account_id, symbol, datetime_of_ms(start_ms)]).fetchall()
    after = conn.execute(
        f"SELECT {_POSITION_REPORT} FROM positions WHERE {where}"
        " AND exchange_ts > %s AND exchange_ts < %s ORDER BY exchange_ts, seq",
        [account_id, symbol, datetime_of_ms(start_ms), datetime_of_ms(end_ms)]).fetchall()
    return baseline, after


def wallet_reports(conn: psycopg.Connection, account_id: UUID, start_ms: int, end_ms: int,
                   ) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
    """The account's USDT wallet reports: the newest at or before ``start_ms`` (None if
    none) and those after it, before ``end_ms``. Rows: (exchange ms, wallet balance)."""
    columns = f"SELECT {_MS.format('exchange_ts')}, wallet_balance FROM wallets"
    where = " WHERE account_id = %s AND coin = 'USDT'"
    baseline = conn.execute(
        columns + where + " AND exchange_ts <= %s ORDER BY exchange_ts DESC LIMIT 1",
        [account_id, datetime_of_ms(start_ms)]).fetchone()
    after = conn.execute(
        columns + where + " AND exchange_ts > %s AND exchange_ts < %s ORDER BY exchange_ts",
        [account_id, datetime_of_ms(start_ms), datetime_of_ms(end_ms)]).fetchall()
    return baseline, after


def traded_other_symbols(conn: psycopg.Connection, account_id: UUID, symbol: str,
                         start_ms: int, end_ms: int) -> bool:
    """Whether the account has executions of another symbol in ``[start_ms, end_ms)``."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM private_executions WHERE account_id = %s"
        " AND symbol <> %s AND exchange_ts >= %s AND exchange_ts < %s)",
        [account_id, symbol, datetime_of_ms(start_ms), datetime_of_ms(end_ms)]).fetchone()[0]


def sim_executions_of(conn: psycopg.Connection, run_id: UUID, start_ms: int, end_ms: int,
                      ) -> list[tuple[Any, ...]]:
    """A shadow (or backtest) run's simulated executions of ``[start_ms, end_ms)`` in the
    order made: (exchange ms, price, qty, side, link id, fee, order id, exec id, realised
    PnL, position idx)."""
    return conn.execute(
        f"SELECT {_MS.format('exchange_ts')}, exec_price, exec_qty, side, order_link_id,"
        " exec_fee, order_id, exec_id, realised_pnl, position_idx FROM sim_executions"
        " WHERE run_id = %s AND exchange_ts >= %s AND exchange_ts < %s ORDER BY seq",
        [run_id, datetime_of_ms(start_ms), datetime_of_ms(end_ms)]).fetchall()


def run_decisions(conn: psycopg.Connection, run_id: UUID, start_ms: int, end_ms: int,
                  ) -> list[tuple[Any, ...]]:
    """The run's decisions whose trigger's exchange time is in ``[start_ms, end_ms)``, in
    the order made: (seq, trigger exchange ms, trigger receipt ms, trigger kind, trigger
    document, intent kind, link id, side, price, qty, intent document)."""
    return conn.execute(
        f"SELECT seq, {_MS.format('exchange_ts')}, {_MS.format('local_ts')}, trigger_kind,"
        " trigger_event, intent_kind, order_link_id, side, price, qty, intent"
        " FROM engine_decisions WHERE run_id = %s AND exchange_ts >= %s AND exchange_ts < %s"
        " ORDER BY seq", [run_id, datetime_of_ms(start_ms), datetime_of_ms(end_ms)]).fetchall()


#: Order states that show an order reached the book (its acknowledgement).
ACK_STATUSES = ("New", "PartiallyFilled", "Filled")


def order_acks(conn: psycopg.Connection, account_id: UUID, symbol: str, start_ms: int,
               end_ms: int) -> list[tuple[str, int | None, int | None]]:
    """Per client id of the account's orders of ``symbol`` updated in ``[start_ms,
    end_ms)``: (link id, exchange ms of its first state on the book, exchange ms of its
    cancellation), either None when not captured."""
    return conn.execute(
        f"SELECT order_link_id,"
        f" min({_MS.format('exchange_ts')}) FILTER (WHERE order_status = ANY(%s)),"
        f" min({_MS.format('exchange_ts')}) FILTER (WHERE order_status = 'Cancelled')"
        " FROM orders WHERE account_id = %s AND symbol = %s AND exchange_ts >= %s"
        " AND exchange_ts < %s AND order_link_id IS NOT NULL GROUP BY order_link_id",
        [list(ACK_STATUSES), account_id, symbol, datetime_of_ms(start_ms),
         datetime_of_ms(end_ms)]).fetchall()


def unfilled_gaps(conn: psycopg.Connection, account_id: UUID, symbol: str, start_ms: int,
                  end_ms: int) -> list[tuple[int, int, str, str]]:
    """Capture gaps overlapping ``[start_ms, end_ms]`` that REST could not fill, of the
    symbol's public streams or the account's private ones: (start ms, end ms, stream,
    reason), oldest first. A filled gap's rows were recovered: the data is whole there."""
    return conn.execute(
        f"SELECT {_MS.format('window_start')}, {_MS.format('window_end')}, stream, reason"
        " FROM capture_gaps WHERE NOT filled AND window_start <= %s AND window_end >= %s"
        " AND (symbol = %s OR (symbol IS NULL AND account_id = %s))"
        " ORDER BY window_start", [datetime_of_ms(end_ms), datetime_of_ms(start_ms), symbol,
                                   account_id]).fetchall()


def newest_snapshot_ms(conn: psycopg.Connection, run_id: UUID, at_ms: int, after_ms: int = -1,
                       ) -> int | None:
    """Exchange time of the run's newest engine snapshot at or before ``at_ms`` and later
    than ``after_ms``, or None."""
    row = conn.execute(f"SELECT max({_MS.format('exchange_ts')}) FROM engine_snapshots"
                       " WHERE run_id = %s AND exchange_ts <= %s AND exchange_ts > %s",
                       [run_id, datetime_of_ms(at_ms), datetime_of_ms(after_ms)]).fetchone()
    return None if row[0] is None else int(row[0])
