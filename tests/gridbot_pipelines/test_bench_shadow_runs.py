"""The nightly bench's shadow runs (``benchmarks/shadow_runs.py``) are runs the comparison
can read as it reads the trading daemon's: replayed from their snapshots with their own
model (CONSERVATIVE, no latency), they come out exactly as they ran."""

from __future__ import annotations

import pytest

from benchmarks.shadow_runs import shadow_run
from daemons.db.session import Database
from daemons.validation.check import run_comparison
from daemons.venue.instruments import INSTRUMENTS
from gridcore.sim.tape import MarketTape
from tests.gridbot_pipelines.data import GRID, add_strategy, day_start_ms, store_market_day

DAY = "2026-08-03"


@pytest.fixture(scope="module")
def tape(pipeline_db: Database) -> MarketTape:
    """The day's market, stored once in the module's database."""
    return store_market_day(pipeline_db, "BTCUSDT", DAY, trades=30_000, seed=5)


@pytest.mark.parametrize("overtake_ms", [0, 400])
def test_bench_shadow_run_replayed_with_its_own_model_is_exact(
        pipeline_db: Database, tape: MarketTape, overtake_ms: int) -> None:
    """Also when the trades stamped up to 400 ms after each ticker are delivered before it:
    the shadow strategy holds them for their ticker (``daemons/trading/arrival.py``);
    stepped as delivered, it parts from its replay at the 30th decision. Replayed from a
    snapshot half-way through as well as from its first."""
    strategy_id = add_strategy(pipeline_db, f"sam{overtake_ms}", "BTCUSDT",
                               {**GRID, "grid_step": "0.02"})
    start = day_start_ms(DAY) + 3_600_000  # the tape's first trade
    run_id = shadow_run(pipeline_db, strategy_id, tape, INSTRUMENTS["BTCUSDT"], start,
                        int(tape.ts[-1]) + 1, overtake_ms=overtake_ms)
    result = run_comparison(pipeline_db, run_id, ["CONSERVATIVE"], latency_ms=0,
                            store=False)
    assert len(result.comparison.input.live.fills) >= 10, "a run with fills to compare"
    assert result.comparison.input.start_ms > start  # from its first snapshot in the market
    end = int(tape.ts[-1]) + 1
    later = run_comparison(pipeline_db, run_id, ["CONSERVATIVE"], latency_ms=0, store=False,
                           start_ms=(start + end) // 2)
    assert later.comparison.input.start_ms > (start + end) // 2 - 60_000
    for check in (result, later):
        (model,) = check.comparison.models
        assert model.divergence is None and not model.explained
        values = {m.name: m.value for m in model.metrics}
        assert values["trade count match"] == 1.0 and values["PnL delta"] == 0.0
