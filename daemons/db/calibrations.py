"""Stored calibrations of the QUEUE fill model (``sql/0011``), per user and symbol."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from daemons.db.times import datetime_of_ms
from daemons.validation.calibration import Calibration


def insert_calibration(conn: psycopg.Connection, run_id: UUID, calibration: Calibration,
                       ) -> UUID:
    """Store a calibration for the unit of work's user; return its id."""
    c = calibration
    return conn.execute(
        "INSERT INTO calibrations (run_id, symbol, queue_ahead, latency_ms, fit_start,"
        " fit_end, test_start, test_end, in_sample, out_of_sample, tried)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING calibration_id",
        [run_id, c.symbol, Decimal(repr(c.queue_ahead)), c.latency_ms,
         datetime_of_ms(c.fit_window.start_ms), datetime_of_ms(c.fit_window.end_ms),
         datetime_of_ms(c.test_window.start_ms), datetime_of_ms(c.test_window.end_ms),
         Jsonb(_score(asdict(c.in_sample))), Jsonb(_score(asdict(c.out_of_sample))),
         Jsonb([{"queue_ahead": q, **_score(asdict(s))} for q, s in c.tried])],
    ).fetchone()[0]


def newest_queue_ahead(conn: psycopg.Connection, symbol: str) -> float | None:
    """The queue size of the user's newest calibration for ``symbol`` (None: none yet)."""
    row = conn.execute("SELECT queue_ahead FROM calibrations WHERE symbol = %s"
                       " ORDER BY created_at DESC LIMIT 1", [symbol]).fetchone()
    return None if row is None else float(row[0])


def list_calibrations(conn: psycopg.Connection, symbol: str | None = None) -> list[tuple]:
    """(id, run, symbol, queue, latency ms, in-sample, out-of-sample, created), newest first."""
    return conn.execute(
        "SELECT calibration_id, run_id, symbol, queue_ahead, latency_ms, in_sample,"
        " out_of_sample, created_at FROM calibrations WHERE (%s::text IS NULL OR symbol = %s)"
        " ORDER BY created_at DESC", [symbol, symbol]).fetchall()


def _score(values: dict) -> dict:
    """JSON has no infinity: an undefined PnL delta is stored as null."""
    delta = values.get("pnl_delta")
    if delta is not None and delta == float("inf"):
        values = {**values, "pnl_delta": None}
    return values
