"""Partition maintenance from Python: thin wrappers over the SQL functions of 0003.

Run them in the admin context (``with db.admin() as conn``); Dagster assets call the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from daemons.db.errors import InvalidInput

#: Most months created ahead (or behind) in one call: each month is one partition per
#: partitioned table, and a run of hundreds exhausts the server's lock table.
MAX_MONTHS = 24


@dataclass(frozen=True, slots=True)
class StrayReport:
    """Rows a DEFAULT partition caught because their month had no partition."""

    table_name: str
    row_count: int
    oldest: datetime
    newest: datetime


def ensure_partitions(conn: psycopg.Connection, months_ahead: int = 3, months_behind: int = 0,
                      now: datetime | None = None) -> list[tuple[str, str]]:
    """Create the missing monthly partitions around ``now``; return (table, partition)."""
    for name, months in (("months ahead", months_ahead), ("months behind", months_behind)):
        if not 0 <= months <= MAX_MONTHS:
            raise InvalidInput(f"{name}: {months} is not between 0 and {MAX_MONTHS}")
    return conn.execute(
        "SELECT table_name, partition_name FROM"
        " gridbot_ensure_partitions(%s, %s, coalesce(%s, now()))",
        [months_ahead, months_behind, now]).fetchall()


def missing_partitions(conn: psycopg.Connection, months_ahead: int = 3,
                       now: datetime | None = None) -> list[tuple[str, str]]:
    """The (table, partition) pairs of the month of ``now`` and ``months_ahead`` after it
    that do not exist yet: read-only, for ``gridbot db status``.

    Months are computed like ``gridbot_ensure_partitions`` computes them, so an empty
    answer means that function would create nothing.
    """
    return conn.execute(
        "SELECT p.table_name, m.name FROM partition_policies p CROSS JOIN LATERAL ("
        "  SELECT p.table_name || '_p' || to_char(gridbot_month_start("
        "    gridbot_month_start(coalesce(%s, now())) + make_interval(months => k))"
        "    AT TIME ZONE 'UTC', 'YYYY_MM') AS name"
        "  FROM generate_series(0, %s) AS k) m"
        " WHERE to_regclass(format('public.%%I', m.name)) IS NULL ORDER BY 1, 2",
        [now, months_ahead]).fetchall()


def default_partition_strays(conn: psycopg.Connection) -> list[StrayReport]:
    """Report the rows sitting in DEFAULT partitions (empty when all is well)."""
    rows = conn.execute("SELECT * FROM gridbot_default_partition_strays()").fetchall()
    return [StrayReport(*row) for row in rows]


def adopt_strays(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Create partitions for the DEFAULT partitions' rows and move the rows into them."""
    return conn.execute("SELECT table_name, partition_name FROM gridbot_adopt_strays()").fetchall()


def expire_partitions(conn: psycopg.Connection,
                      now: datetime | None = None) -> list[tuple[str, str, str]]:
    """Detach partitions past their table's retention, then drop or archive them."""
    return conn.execute(
        "SELECT table_name, partition_name, action FROM"
        " gridbot_expire_partitions(coalesce(%s, now()))", [now]).fetchall()


def set_retention(conn: psycopg.Connection, table: str, months: int | None,
                  action: str = "archive") -> None:
    """Change a table's retention (None keeps every month) and expiry action."""
    updated = conn.execute(
        "UPDATE partition_policies SET retention_months = %s, expiry_action = %s"
        " WHERE table_name = %s", [months, action, table]).rowcount
    if updated != 1:
        raise ValueError(f"{table} has no partition policy")


def list_partitions(conn: psycopg.Connection, table: str) -> list[str]:
    """The partitions attached to ``table`` (including its DEFAULT), by name."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass ORDER BY 1", [table]).fetchall()
    return [r[0] for r in rows]
