"""The nightly schedule's partition, the sensors' cursor cases, the failure alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import dagster as dg
import pytest

from daemons.db.session import Database
from gridbot_pipelines.partitions import LIVE_RUNS, STRATEGIES
from gridbot_pipelines.resources import DatabaseResource
from gridbot_pipelines.schedules import validation_job_schedule
from gridbot_pipelines.sensors import (
    ended_run_sensor,
    live_run_sensor,
    run_failure_alert_sensor,
    strategy_sensor,
)
from tests.daemons.trading.test_alerts import Receiver
from tests.gridbot_pipelines.data import add_run, add_strategy

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize(("tick", "day"), [
    (datetime(2026, 12, 7, 0, 30, tzinfo=UTC), "2026-12-06"),
    (datetime(2027, 1, 1, 0, 30, tzinfo=UTC), "2026-12-31"),
    (datetime(2028, 3, 1, 0, 30, tzinfo=UTC), "2028-02-29"),
])
def test_validation_job_schedule_selects_the_day_that_ended(tick: datetime, day: str) -> None:
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    request = validation_job_schedule(context)
    assert (request.partition_key, request.run_key) == (day, day)


def _live_run(db: Database, username: str, start: datetime, kind: str = "live") -> str:
    return str(add_run(db, username, start, kind=kind))


def _evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance,
              cursor: str | None = None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"database": DatabaseResource()}) as context:
        result = sensor(context)
        if isinstance(result, dg.SkipReason):
            return dg.SensorResult(skip_reason=result, cursor=context.cursor)
        return result


def _added(result: dg.SensorResult) -> list[str]:
    return [key for request in result.dynamic_partitions_requests or []
            for key in request.partition_keys]


def test_live_run_sensor_cursor_cases(pipeline_db: Database) -> None:
    with dg.instance_for_test() as instance:
        empty = _evaluate(live_run_sensor, instance)  # no run at all: skip, no cursor
        assert _added(empty) == [] and empty.cursor is None

        t0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
        first = _live_run(pipeline_db, "ann", t0)
        shadow = _live_run(pipeline_db, "ben", t0 + timedelta(minutes=1), "shadow")
        start = _evaluate(live_run_sensor, instance)  # no cursor: every run so far
        assert _added(start) == [first, shadow]
        assert datetime.fromisoformat(start.cursor) == t0 + timedelta(minutes=1)
        instance.add_dynamic_partitions(LIVE_RUNS.name, _added(start))

        same = _evaluate(live_run_sensor, instance, start.cursor)  # nothing new
        assert _added(same) == [] and same.cursor == start.cursor

        # a run whose transaction began before the cursor but committed after it
        late = _live_run(pipeline_db, "cat", t0 + timedelta(seconds=30))
        later = _live_run(pipeline_db, "dan", t0 + timedelta(hours=1))
        after = _evaluate(live_run_sensor, instance, start.cursor)
        assert _added(after) == [late, later]
        assert datetime.fromisoformat(after.cursor) == t0 + timedelta(hours=1)

        garbled = _evaluate(live_run_sensor, instance, "not a time")  # start over
        assert _added(garbled) == [late, later]
        assert all(UUID(key) for key in _added(garbled))


def _end(db: Database, run_id: str, at: datetime) -> None:
    with db.admin() as conn:
        conn.execute("UPDATE runs SET end_ts = %s, status = 'completed' WHERE run_id = %s",
                     [at, run_id])


def _requested(result: dg.SensorResult) -> list[tuple[str | None, str | None]]:
    return [(r.run_key, r.partition_key) for r in result.run_requests or []]


def test_ended_run_sensor_requests_each_ended_runs_comparison_and_partition(
        pipeline_db: Database) -> None:
    with dg.instance_for_test() as instance:
        t0 = datetime(2026, 12, 3, 10, tzinfo=UTC)
        _live_run(pipeline_db, "fay", t0)  # still running: nothing to compare yet
        assert _requested(_evaluate(ended_run_sensor, instance)) == []

        first = _live_run(pipeline_db, "gus", t0)
        _end(pipeline_db, first, t0 + timedelta(hours=1))
        ended = _evaluate(ended_run_sensor, instance)
        assert _requested(ended) == [(first, first)]  # the run's id: requested once
        assert _added(ended) == [first]  # its partition, before live_run_sensor adds it
        assert datetime.fromisoformat(ended.cursor) == t0 + timedelta(hours=1)
        instance.add_dynamic_partitions(LIVE_RUNS.name, _added(ended))

        old = _live_run(pipeline_db, "hal", t0 - timedelta(hours=3))
        _end(pipeline_db, old, t0 - timedelta(hours=2))  # ended long before the cursor
        shadow = _live_run(pipeline_db, "ida", t0, "shadow")
        _end(pipeline_db, shadow, t0 + timedelta(hours=2))
        later = _evaluate(ended_run_sensor, instance, ended.cursor)
        assert _requested(later) == [(first, first), (shadow, shadow)]
        assert _added(later) == [shadow]
        assert datetime.fromisoformat(later.cursor) == t0 + timedelta(hours=2)


def test_strategy_sensor_adds_only_strategies_without_a_partition(
        pipeline_db: Database) -> None:
    with dg.instance_for_test() as instance:
        with pipeline_db.admin() as conn:
            known = [str(r[0]) for r in conn.execute("SELECT strategy_id FROM strategies")]
        instance.add_dynamic_partitions(STRATEGIES.name, known)
        assert _added(_evaluate(strategy_sensor, instance)) == []
        new = add_strategy(pipeline_db, "eve", "ETHUSDT")
        assert _added(_evaluate(strategy_sensor, instance)) == [str(new)]


@dg.asset
def doomed() -> None:
    raise RuntimeError("replay failed: no captured trades")


def test_run_failure_alert_sensor_posts_the_failed_run_to_the_webhook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver()
    monkeypatch.setenv("GRIDBOT_ALERT_WEBHOOK", receiver.url)
    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize([doomed], instance=instance, raise_on_error=False)
            assert not result.success
            run = instance.get_run_by_id(result.run_id)
            (failure,) = [entry.dagster_event for entry in instance.all_logs(
                result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)]
            context = dg.build_run_status_sensor_context(
                sensor_name="run_failure_alert_sensor", dagster_instance=instance,
                dagster_run=run, dagster_event=failure).for_run_failure()
            run_failure_alert_sensor(context)
        (body,) = receiver.wait_for(1)
    finally:
        receiver.close()
    assert body["kind"] == "dagster-run-failed"
    assert body["subject"] == run.job_name
    assert result.run_id in body["message"] and "failed" in body["message"]
    assert json.dumps(body)  # a plain JSON document, as the trader's alerts
