"""A day's stored validation results as the nightly report's frames, every user's.

SQLAlchemy Core on the tables' description (:mod:`daemons.db.tables`), read with
``pandas.read_sql`` through :meth:`DatabaseResource.admin_frames
<gridbot_pipelines.resources.DatabaseResource.admin_frames>`: the report is an operator's,
across users, so it reads as the tables' owner (docs/pipelines.md, "The validation
group"). The day's comparison of a run is its newest one made by the pipeline whose window
ends inside the day (the nightly's, or the one made when the run ended that day); the
day's calibration of a user and symbol the newest whose test window ends inside it.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on

from daemons.db import tables as t
from daemons.validation.nightly_report import NightlyFrames
from gridbot_pipelines.frames import day_bounds, epoch_ms


def nightly_frames(conn: sa.Connection, day: str) -> NightlyFrames:
    """Runs, comparisons, results, reasons and calibrations of ``day``."""
    chosen = _comparisons(day)
    runs = pd.read_sql(_runs(day, chosen), conn)
    ids = sa.select(chosen.c.comparison_id)
    r = t.comparison_results.c
    results = pd.read_sql(sa.select(r.comparison_id, r.fill_model, r.passed, r.metrics,
                                    r.divergence, sa.cast(r.live_pnl, sa.Text).label("live_pnl"),
                                    sa.cast(r.pnl, sa.Text).label("pnl"), r.pairs, r.missed,
                                    r.phantom)
                          .where(r.comparison_id.in_(ids)), conn)
    for column, name in (("match", "trade count match"), ("pnl_delta", "PnL delta")):
        results[column] = pd.Series([_metric(metrics, name) for metrics in results["metrics"]],
                                    index=results.index, dtype="float64")
    f = t.comparison_fills.c
    reasons = pd.read_sql(sa.select(f.comparison_id, f.fill_model, f.reason,
                                    sa.func.count().label("fills"))
                          .where(f.comparison_id.in_(ids), f.kind != "pair")
                          .group_by(f.comparison_id, f.fill_model, f.reason), conn)
    return NightlyFrames(day, runs, results, reasons, _calibrations(conn, day))


def _comparisons(day: str) -> sa.Subquery:
    """Per run, its newest pipeline comparison whose window ends inside the day."""
    c = t.comparisons.c
    start, end = day_bounds(day)
    return (sa.select(c.comparison_id, c.run_id, c.passed, c.report_dir,
                      epoch_ms(c.window_start).label("start_ms"),
                      epoch_ms(c.window_end).label("end_ms"))
            .where(c.origin == "pipeline", c.window_end > start, c.window_end <= end)
            .ext(distinct_on(c.run_id)).order_by(c.run_id, c.created_at.desc()).subquery())


def _runs(day: str, chosen: sa.Subquery) -> sa.Select:
    """Every live or shadow run active during the day, with its account and its
    comparison if any."""
    run, user, account = t.runs.c, t.users.c, t.bybit_accounts.c
    start, end = day_bounds(day)
    return (sa.select(run.run_id, user.username, account.account_name, run.run_type,
                      run.config_snapshot["symbol"].astext.label("symbol"),
                      chosen.c.comparison_id, chosen.c.start_ms, chosen.c.end_ms,
                      chosen.c.passed, chosen.c.report_dir)
            .select_from(t.runs.join(t.users, run.user_id == user.user_id)
                         .outerjoin(t.bybit_accounts, run.account_id == account.account_id)
                         .outerjoin(chosen, chosen.c.run_id == run.run_id))
            .where(run.run_type.in_(("live", "shadow")), run.start_ts < end,
                   sa.or_(run.end_ts.is_(None), run.end_ts >= start))
            .order_by(user.username, run.start_ts, run.run_id))


def _calibrations(conn: sa.Connection, day: str) -> pd.DataFrame:
    """Per user and symbol, the newest calibration whose test window ends inside the day."""
    c, user = t.calibrations.c, t.users.c
    start, end = day_bounds(day)
    query = (sa.select(user.username, c.symbol, c.run_id, sa.cast(c.queue_ahead, sa.Float)
                       .label("queue_ahead"), c.latency_ms, c.in_sample, c.out_of_sample)
             .select_from(t.calibrations.join(t.users, c.user_id == user.user_id))
             .where(c.test_end > start, c.test_end <= end)
             .ext(distinct_on(c.user_id, c.symbol))
             .order_by(c.user_id, c.symbol, c.created_at.desc()))
    found = pd.read_sql(query, conn).sort_values(["username", "symbol"], ignore_index=True)
    for sample, column in (("in", "in_sample"), ("out", "out_of_sample")):
        scores = found.pop(column)
        for key in ("match", "pnl_delta"):  # an undefined PnL delta is stored as null
            found[f"{sample}_{key}"] = pd.Series([s[key] for s in scores], index=found.index,
                                                 dtype="float64")
    return found


def _metric(metrics: list[dict], name: str) -> float | None:
    """A metric's value from a stored metric table (None when it could not be measured)."""
    return next((m["value"] for m in metrics if m["name"] == name), None)
