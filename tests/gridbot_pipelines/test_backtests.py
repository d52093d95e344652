"""Backtest assets: the same replays as ``gridbot backtest``, stored once per result."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from daemons.backtest.request import BacktestRequest, run_request
from daemons.db.session import Database
from gridbot_pipelines.defs.backtests.assets import daily_backtests, strategy_backtests
from gridbot_pipelines.partitions import STRATEGIES, day_window_ms
from gridbot_pipelines.resources import DatabaseResource
from tests.gridbot_pipelines.data import add_strategy, store_market_day

pytestmark = pytest.mark.timeout(600)

DAY = "2026-10-20"
RESOURCES = {"database": DatabaseResource()}


@pytest.fixture(scope="module")
def strategies(pipeline_db: Database) -> dict[str, int]:
    """Two users' strategies on two symbols captured on DAY."""
    store_market_day(pipeline_db, "BTCUSDT", DAY, seed=3)
    store_market_day(pipeline_db, "ETHUSDT", DAY, seed=9)
    return {"BTCUSDT": add_strategy(pipeline_db, "alice", "BTCUSDT"),
            "ETHUSDT": add_strategy(pipeline_db, "bob", "ETHUSDT")}


@pytest.fixture
def instance(strategies: dict[str, int]) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        test_instance.add_dynamic_partitions(STRATEGIES.name,
                                             [str(s) for s in strategies.values()])
        yield test_instance


def _key(strategy_id: int) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"day": DAY, "strategy": str(strategy_id)})


def _digests(result: dg.ExecuteInProcessResult, node: str) -> dict[str, str]:
    (event,) = result.asset_materializations_for_node(node)
    return event.metadata["digests"].value


def _backtest_runs(db: Database) -> int:
    with db.admin() as conn:
        return conn.execute("SELECT count(*) FROM backtest_results").fetchone()[0]


def test_strategy_backtests_equal_gridbot_backtest_and_store_each_result_once(
        pipeline_db: Database, strategies: dict[str, int],
        instance: dg.DagsterInstance) -> None:
    strategy = strategies["BTCUSDT"]
    runs_before = _backtest_runs(pipeline_db)
    first = dg.materialize([strategy_backtests], partition_key=_key(strategy),
                           instance=instance, resources=RESOURCES)
    start, end = day_window_ms(DAY)
    expected = {f"{strategy}/{model.upper()}": run_request(BacktestRequest(
        strategy_id=strategy, source="db", fill_model=model, start_ms=start, end_ms=end,
        store=False), pipeline_db).run.digest for model in ("conservative", "queue")}
    assert _digests(first, "strategy_backtests") == expected
    assert _backtest_runs(pipeline_db) == runs_before + 2

    dg.materialize([strategy_backtests], partition_key=_key(strategy), instance=instance,
                   resources=RESOURCES)
    assert _backtest_runs(pipeline_db) == runs_before + 2  # the same results: not again

    wider = dg.materialize(
        [strategy_backtests], partition_key=_key(strategy), instance=instance,
        resources=RESOURCES, run_config={"ops": {"strategy_backtests": {"config": {
            "fill_models": ["pessimistic"], "overrides": {"grid_step": "0.1"}}}}})
    (digest,) = _digests(wider, "strategy_backtests").values()
    assert digest == run_request(BacktestRequest(
        strategy_id=strategy, source="db", fill_model="pessimistic", start_ms=start,
        end_ms=end, overrides={"grid_step": "0.1"}, store=False), pipeline_db).run.digest
    with pipeline_db.admin() as conn:
        step = conn.execute(
            "SELECT r.config_snapshot -> 'config' ->> 'grid_step_pct' FROM backtest_results b"
            " JOIN runs r USING (run_id) WHERE b.fill_model = 'PESSIMISTIC'").fetchone()[0]
    assert float(step) == 0.1


def test_daily_backtests_replay_every_symbol_as_the_strategy_backtests_do(
        pipeline_db: Database, strategies: dict[str, int],
        instance: dg.DagsterInstance) -> None:
    nightly = dg.materialize(
        [daily_backtests], partition_key=DAY, instance=instance, resources=RESOURCES,
        selection=[daily_backtests.key])
    per_strategy = {}
    for strategy in strategies.values():
        result = dg.materialize([strategy_backtests], partition_key=_key(strategy),
                                instance=instance, resources=RESOURCES)
        per_strategy.update(_digests(result, "strategy_backtests"))
    assert _digests(nightly, "daily_backtests") == per_strategy
    assert len(per_strategy) == 4
    steps = {e.step_key for e in nightly.all_events if e.is_step_success}
    assert {"daily_backtests.replay_symbol[BTCUSDT]",
            "daily_backtests.replay_symbol[ETHUSDT]"} <= steps
