"""The pipeline's frames: captured rows of one UTC day, read into pandas.

Queries are built from the tables' description (:mod:`daemons.db.tables`) and read with
``pandas.read_sql`` through a SQLAlchemy connection of
:class:`~gridbot_pipelines.resources.DatabaseResource`. Times come as integer epoch
milliseconds (gridbot's unit everywhere), prices and sizes as floats: the checks compare
them with bounds, they do not do money arithmetic.
"""

from __future__ import annotations

from uuid import UUID

import pandas as pd
import sqlalchemy as sa

from daemons.db import tables as t
from gridbot_pipelines.partitions import day_window_ms


def epoch_ms(column: sa.ColumnElement) -> sa.ColumnElement:
    """A ``timestamptz`` column as integer epoch milliseconds."""
    return sa.cast(sa.func.round(sa.extract("epoch", column) * 1000), sa.BigInteger)


def day_bounds(day: str) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """The UTC day's start and end as SQL timestamps."""
    start, end = day_window_ms(day)
    return (sa.func.to_timestamp(start / 1000.0), sa.func.to_timestamp(end / 1000.0))


def _in_day(column: sa.ColumnElement, day: str) -> sa.ColumnElement:
    start, end = day_bounds(day)
    return sa.and_(column >= start, column < end)


def _float(column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.cast(column, sa.Float).label(column.name)


def trades(conn: sa.Connection, day: str) -> pd.DataFrame:
    """Every public trade of ``day``: symbol, trade id, times, side, price, size."""
    c = t.public_trades.c
    query = sa.select(c.symbol, c.trade_id, epoch_ms(c.exchange_ts).label("exchange_ms"),
                      epoch_ms(c.local_ts).label("local_ms"), c.side, _float(c.price),
                      _float(c.size)).where(_in_day(c.exchange_ts, day))
    return pd.read_sql(query, conn)


def tickers(conn: sa.Connection, day: str) -> pd.DataFrame:
    """Every ticker message of ``day``: symbol, cross sequence, time, last and mark price."""
    c = t.tickers.c
    query = sa.select(c.symbol, c.cross_seq, epoch_ms(c.exchange_ts).label("exchange_ms"),
                      _float(c.last_price), _float(c.mark_price)
                      ).where(_in_day(c.exchange_ts, day))
    return pd.read_sql(query, conn)


def funding(conn: sa.Connection, day: str) -> pd.DataFrame:
    """The settled funding rates of ``day``."""
    c = t.funding_rates.c
    query = sa.select(c.symbol, epoch_ms(c.exchange_ts).label("exchange_ms"),
                      _float(c.funding_rate), _float(c.mark_price)
                      ).where(_in_day(c.exchange_ts, day))
    return pd.read_sql(query, conn)


def gaps(conn: sa.Connection, day: str, account_id: UUID | None = None) -> pd.DataFrame:
    """Capture gaps overlapping ``day``: the public ones, or one account's (its owner's
    unit of work shows them)."""
    c = t.capture_gaps.c
    start, end = day_bounds(day)
    owner = c.account_id.is_(None) if account_id is None else c.account_id == account_id
    query = sa.select(
        c.gap_id, c.stream, c.symbol, epoch_ms(c.window_start).label("start_ms"),
        epoch_ms(c.window_end).label("end_ms"),
        (epoch_ms(c.window_end) - epoch_ms(c.window_start)).label("duration_ms"),
        c.reason, c.filled, c.rows_recovered,
    ).where(owner, c.window_end >= start, c.window_start < end).order_by(c.window_start)
    return pd.read_sql(query, conn)


def executions(conn: sa.Connection, day: str) -> pd.DataFrame:
    """The executions of ``day`` that ``conn`` sees (a user's, or every account's for
    the owner)."""
    c = t.private_executions.c
    query = sa.select(c.account_id, c.symbol, c.exec_id, c.exec_type,
                      epoch_ms(c.exchange_ts).label("exchange_ms"), _float(c.exec_price),
                      _float(c.exec_qty)).where(_in_day(c.exchange_ts, day))
    return pd.read_sql(query, conn)


def market_counts(conn: sa.Connection, day: str) -> pd.DataFrame:
    """Rows per market table and symbol on ``day``, with the first and last event time."""
    parts = []
    for table in (t.public_trades, t.tickers, t.funding_rates):
        c = table.c
        parts.append(sa.select(
            sa.literal(table.name).label("table"), c.symbol,
            sa.func.count().label("rows"),
            epoch_ms(sa.func.min(c.exchange_ts)).label("first_ms"),
            epoch_ms(sa.func.max(c.exchange_ts)).label("last_ms"),
        ).where(_in_day(c.exchange_ts, day)).group_by(c.symbol))
    return pd.read_sql(sa.union_all(*parts).order_by("table", "symbol"), conn)
