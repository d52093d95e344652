"""Runs: one live, shadow or backtest execution of a strategy, with its config snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from daemons.db.errors import InvalidInput, NotFound
from gridcore.version import GRIDCORE_VERSION

RUN_TYPES = ("live", "backtest", "shadow")
END_STATUSES = ("completed", "failed", "stopped")
_COLUMNS = ("run_id, user_id, account_id, strategy_id, run_type, gridcore_version,"
            " config_snapshot, start_ts, end_ts, status")


@dataclass(frozen=True, slots=True)
class Run:
    run_id: UUID
    user_id: UUID
    account_id: UUID | None
    strategy_id: int | None
    run_type: str
    gridcore_version: str
    config_snapshot: dict[str, Any]
    start_ts: datetime
    end_ts: datetime | None
    status: str


def start_run(conn: psycopg.Connection, run_type: str, config_snapshot: Mapping[str, Any], *,
              account_id: UUID | None = None, strategy_id: int | None = None,
              gridcore_version: str = GRIDCORE_VERSION) -> Run:
    """Record a run as started for the unit of work's user."""
    if run_type not in RUN_TYPES:
        raise InvalidInput(f"run type {run_type!r}: use one of {', '.join(RUN_TYPES)}")
    if run_type != "backtest" and account_id is None:
        raise InvalidInput(f"a {run_type} run needs an account")
    with conn.transaction(), conn.cursor(row_factory=class_row(Run)) as cur:
        return cur.execute(
            "INSERT INTO runs (account_id, strategy_id, run_type, gridcore_version,"
            f" config_snapshot) VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            [account_id, strategy_id, run_type, gridcore_version, Jsonb(dict(config_snapshot))],
        ).fetchone()


def finish_run(conn: psycopg.Connection, run_id: UUID, status: str = "completed") -> Run:
    """Close a run with its final status."""
    if status not in END_STATUSES:
        raise InvalidInput(f"run status {status!r}: use one of {', '.join(END_STATUSES)}")
    with conn.cursor(row_factory=class_row(Run)) as cur:
        run = cur.execute(
            f"UPDATE runs SET end_ts = now(), status = %s WHERE run_id = %s RETURNING {_COLUMNS}",
            [status, run_id]).fetchone()
    if run is None:
        raise NotFound(f"unknown run {run_id}")
    return run


def get_run(conn: psycopg.Connection, run_id: UUID) -> Run:
    """One run visible to ``conn`` (row-level security: its owner's unit of work)."""
    with conn.cursor(row_factory=class_row(Run)) as cur:
        run = cur.execute(f"SELECT {_COLUMNS} FROM runs WHERE run_id = %s",
                          [run_id]).fetchone()
    if run is None:
        raise NotFound(f"unknown run {run_id}")
    return run


def owner_of(conn: psycopg.Connection, run_id: str) -> UUID | None:
    """The user a run belongs to, by the run id as typed (text that is no run id finds
    nothing, like an unknown id), or None."""
    row = conn.execute("SELECT user_id FROM runs WHERE run_id::text = %s", [run_id]).fetchone()
    return None if row is None else row[0]


def running(conn: psycopg.Connection, run_type: str = "live") -> list[Run]:
    """Runs of ``run_type`` still running (no end recorded), oldest first: every user's in
    the admin context, the user's own in a unit of work."""
    with conn.cursor(row_factory=class_row(Run)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM runs WHERE run_type = %s AND end_ts IS NULL"
                           " AND status = 'running' ORDER BY start_ts, run_id",
                           [run_type]).fetchall()


def active_between(conn: psycopg.Connection, start: datetime, end: datetime,
                   run_types: tuple[str, ...] = ("live", "shadow")) -> list[Run]:
    """Runs of ``run_types`` active at some time in [start, end): started before its end,
    not ended before its start; oldest first (every user's in the admin context)."""
    with conn.cursor(row_factory=class_row(Run)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM runs WHERE run_type = ANY(%s)"
                           " AND start_ts < %s AND (end_ts IS NULL OR end_ts >= %s)"
                           " ORDER BY start_ts, run_id",
                           [list(run_types), end, start]).fetchall()
