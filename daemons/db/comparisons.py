"""Stored comparisons: a run's window checked against its replays (sql/0010).

Written once per check, in the run owner's unit of work, so row-level security keeps every
comparison its owner's; read back by ``gridbot reports list`` and by anyone asking which
fills of a run the replays could not explain, and why. The values are plain (the
comparison itself lives in ``daemons.validation``, which turns its results into these).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from daemons.db.copy_writer import EventTable, copy_events
from daemons.db.times import datetime_of_ms

ORIGINS = ("cli", "watch", "pipeline")


@dataclass(frozen=True, slots=True)
class FillSide:
    """One side's order of a stored pair or unmatched fill."""

    link_id: str
    ts: int
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class FillRecord:
    """A pair (``reason`` None), or a missed, phantom or far-off order with its reason."""

    kind: str
    live: FillSide | None
    sim: FillSide | None
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class ModelRecord:
    """One fill model's result: its metrics (JSON documents), verdicts and fills."""

    fill_model: str
    passed: bool
    metrics: Sequence[Mapping[str, Any]]
    verdicts: Mapping[str, bool | None]
    live_pnl: Decimal
    pnl: Decimal
    pairs: int
    missed: int
    phantom: int
    divergence: Mapping[str, Any] | None
    fills: Sequence[FillRecord]


@dataclass(frozen=True, slots=True)
class StoredComparison:
    """A row of ``comparisons``, with its models' verdicts (``gridbot reports list``)."""

    comparison_id: UUID
    user_id: UUID
    run_id: UUID
    symbol: str
    window_start: datetime
    window_end: datetime
    passed: bool
    origin: str
    report_dir: str | None
    report_digest: str | None
    created_at: datetime
    verdicts: dict[str, bool]


_FILLS = EventTable("comparison_fills", (
    "comparison_id", "fill_model", "seq", "kind", "reason", "detail", "live_link_id",
    "live_ts", "live_price", "live_qty", "sim_link_id", "sim_ts", "sim_price", "sim_qty"),
    ("comparison_id", "fill_model", "seq"))


def insert_comparison(conn: psycopg.Connection, *, run_id: UUID, symbol: str, start_ms: int,
                      end_ms: int, latency: Mapping[str, Any], origin: str,
                      models: Sequence[ModelRecord], report_dir: str | None = None,
                      report_digest: str | None = None) -> UUID:
    """Store one comparison and its models' results and fills; return its id.

    The overall verdict is stored as every model passing. Runs in the caller's unit of
    work (the run's owner): the run must be visible there, else the foreign key fails.
    """
    if origin not in ORIGINS:
        raise ValueError(f"origin {origin!r}: use one of {', '.join(ORIGINS)}")
    with conn.transaction():
        (comparison_id,) = conn.execute(
            "INSERT INTO comparisons (run_id, symbol, window_start, window_end, latency,"
            " passed, origin, report_dir, report_digest) VALUES (%s, %s, %s, %s, %s, %s, %s,"
            " %s, %s) RETURNING comparison_id",
            [run_id, symbol, datetime_of_ms(start_ms), datetime_of_ms(end_ms),
             Jsonb(dict(latency)), all(m.passed for m in models), origin, report_dir,
             report_digest]).fetchone()
        for model in models:
            conn.execute(
                "INSERT INTO comparison_results (comparison_id, fill_model, passed, metrics,"
                " verdicts, live_pnl, pnl, pairs, missed, phantom, divergence)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [comparison_id, model.fill_model, model.passed,
                 Jsonb([dict(m) for m in model.metrics]), Jsonb(dict(model.verdicts)),
                 model.live_pnl, model.pnl, model.pairs, model.missed, model.phantom,
                 None if model.divergence is None else Jsonb(dict(model.divergence))])
            copy_events(conn, _FILLS, [_fill_row(comparison_id, model.fill_model, seq, fill)
                                       for seq, fill in enumerate(model.fills, start=1)])
    return comparison_id


def _fill_row(comparison_id: UUID, model: str, seq: int, fill: FillRecord) -> tuple:
    def side(values: FillSide | None) -> tuple:
        if values is None:
            return (None, None, None, None)
        return (values.link_id, datetime_of_ms(values.ts), values.price, values.qty)

    return (comparison_id, model, seq, fill.kind, fill.reason, fill.detail,
            *side(fill.live), *side(fill.sim))


def list_comparisons(conn: psycopg.Connection, *, run_id: UUID | None = None,
                     user_id: UUID | None = None, limit: int = 200) -> list[StoredComparison]:
    """Comparisons visible to ``conn``, newest first; narrowed to a run or a user.

    In a user's unit of work row-level security shows that user's only; the admin context
    (an operator listing every user's) sees all, ``user_id`` narrowing it.
    """
    with conn.cursor(row_factory=class_row(StoredComparison)) as cur:
        return cur.execute(
            "SELECT c.comparison_id, c.user_id, c.run_id, c.symbol, c.window_start,"
            " c.window_end, c.passed, c.origin, c.report_dir, c.report_digest, c.created_at,"
            " coalesce((SELECT jsonb_object_agg(r.fill_model, r.passed ORDER BY r.fill_model)"
            " FROM comparison_results r WHERE r.comparison_id = c.comparison_id), '{}')"
            " AS verdicts FROM comparisons c"
            " WHERE (%(run)s::uuid IS NULL OR c.run_id = %(run)s)"
            " AND (%(user)s::uuid IS NULL OR c.user_id = %(user)s)"
            " ORDER BY c.created_at DESC, c.comparison_id LIMIT %(limit)s",
            {"run": run_id, "user": user_id, "limit": limit}).fetchall()
