"""Sensors: the catalogue of runs and strategies, and alerts on failed runs.

* ``live_run_sensor`` adds a :data:`~gridbot_pipelines.partitions.LIVE_RUNS` partition
  for every new live or shadow run. Its cursor is the newest ``start_ts`` it has seen;
  each evaluation looks a little further back (:data:`LOOKBACK`) because a run's
  ``start_ts`` is its transaction's start, and a transaction that began earlier can
  commit later; runs already added are skipped.
* ``ended_run_sensor`` asks for ``live_run_comparison`` of every live or shadow run that
  has ended (the whole run against its replays, as soon as it is over), adding the run's
  partition first if ``live_run_sensor`` has not yet. Its cursor is the newest
  ``end_ts`` seen, with the same look-back; the run's id is the request's run key, so a
  run looked at twice is compared once.
* ``strategy_sensor`` adds a :data:`~gridbot_pipelines.partitions.STRATEGIES` partition
  for every stored strategy that has none (the backtests' second dimension).
* ``run_failure_alert_sensor`` posts every failed run of this code location to the
  webhook the trading daemon alerts through (``GRIDBOT_ALERT_WEBHOOK``).
"""

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg

from daemons.cli.trade_cmd import WEBHOOK_ENV
from daemons.trading.alerts import Alert, AlertSender
from gridbot_pipelines.jobs import live_run_comparison_job
from gridbot_pipelines.partitions import LIVE_RUNS, STRATEGIES
from gridbot_pipelines.resources import DatabaseResource

LOOKBACK = timedelta(minutes=10)
#: Most runs added by one evaluation (the next one goes on from there).
BATCH = 1000


def _cursor_time(cursor: str | None) -> datetime | None:
    """The cursor's time, or None to start from the first run (no or unreadable cursor)."""
    if not cursor:
        return None
    try:
        return datetime.fromisoformat(cursor)
    except ValueError:
        return None


def _runs_since(database: DatabaseResource, column: str,
                since: datetime | None) -> list[tuple[str, datetime]]:
    """Live and shadow runs (id, ``column``) whose ``column`` is at most :data:`LOOKBACK`
    before ``since`` (None: from the first), oldest first, every user's."""
    with database.db.admin() as conn:  # runs of every user
        return conn.execute(
            f"SELECT run_id::text, {column} FROM runs WHERE run_type IN ('live', 'shadow')"
            f" AND {column} IS NOT NULL"
            f" AND (%s::timestamptz IS NULL OR {column} >= %s::timestamptz - %s)"
            f" ORDER BY {column}, run_id LIMIT %s", [since, since, LOOKBACK, BATCH]).fetchall()


@dataclass(frozen=True)
class _Seen:
    """Runs found since the cursor: their ids, those without a partition, the next cursor."""

    run_ids: list[str]
    new: list[str]
    cursor: str


def _scan(context: dg.SensorEvaluationContext, database: DatabaseResource,
          column: str) -> _Seen | None:
    """Live and shadow runs whose ``column`` is new since the cursor (None: none)."""
    since = _cursor_time(context.cursor)
    rows = _runs_since(database, column, since)
    if not rows:
        return None
    known = set(context.instance.get_dynamic_partitions(LIVE_RUNS.name))
    run_ids = [run_id for run_id, _ in rows]
    return _Seen(run_ids, [r for r in run_ids if r not in known],
                 max(rows[-1][1], since or rows[-1][1]).isoformat())


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def live_run_sensor(context: dg.SensorEvaluationContext,
                    database: DatabaseResource) -> dg.SensorResult | dg.SkipReason:
    """A partition per new live or shadow run (see the module docstring)."""
    seen = _scan(context, database, "start_ts")
    if seen is None:
        return dg.SkipReason("no live or shadow run yet")
    if not seen.new:
        return dg.SensorResult(skip_reason="no new run", cursor=seen.cursor)
    context.log.info(f"{len(seen.new)} new live run(s)")
    return dg.SensorResult(cursor=seen.cursor,
                           dynamic_partitions_requests=[LIVE_RUNS.build_add_request(seen.new)])


@dg.sensor(job=live_run_comparison_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING)
def ended_run_sensor(context: dg.SensorEvaluationContext,
                     database: DatabaseResource) -> dg.SensorResult | dg.SkipReason:
    """``live_run_comparison`` of each live or shadow run that ended (module docstring)."""
    seen = _scan(context, database, "end_ts")
    if seen is None:
        return dg.SkipReason("no live or shadow run has ended yet")
    return dg.SensorResult(
        cursor=seen.cursor,
        run_requests=[dg.RunRequest(run_key=r, partition_key=r) for r in seen.run_ids],
        dynamic_partitions_requests=[LIVE_RUNS.build_add_request(seen.new)] if seen.new
        else [])


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def strategy_sensor(context: dg.SensorEvaluationContext,
                    database: DatabaseResource) -> dg.SensorResult | dg.SkipReason:
    """A partition per stored strategy that has none yet."""
    with database.db.admin() as conn:  # strategies of every user
        ids = [str(row[0]) for row in conn.execute(
            "SELECT strategy_id FROM strategies ORDER BY strategy_id")]
    known = set(context.instance.get_dynamic_partitions(STRATEGIES.name))
    new = [key for key in ids if key not in known]
    if not new:
        return dg.SkipReason("no new strategy")
    return dg.SensorResult(dynamic_partitions_requests=[STRATEGIES.build_add_request(new)])


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    """Post the failed run (job, partition, first error line) to the trader's webhook."""
    run = context.dagster_run
    error = context.failure_event.message or "failed"
    partition = run.tags.get("dagster/partition")
    sender = AlertSender(os.environ.get(WEBHOOK_ENV) or None, throttle_s=0)
    sender.send(Alert("dagster-run-failed", run.job_name,
                      f"run {run.run_id} of {run.job_name}"
                      f"{f' ({partition})' if partition else ''} failed: "
                      f"{error.splitlines()[0][:500]}"))
    sender.close()
