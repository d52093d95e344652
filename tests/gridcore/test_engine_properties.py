"""Engine properties: determinism, fast path equivalence, and save/restore continuity."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gridcore.config import GridConfig
from tests.gridcore.driver import drive, new_engine, random_walk

CONFIGS = st.builds(
    GridConfig,
    amount=st.sampled_from(["0.001", "0.005", "x0.001", "x0.004"]),
    grid_count=st.integers(min_value=2, max_value=30),
    grid_step_pct=st.sampled_from([0.1, 0.2, 0.3, 0.5, 1.0]),
    min_total_margin=st.sampled_from([0.0, 0.5, 2.0]),
    increase_same_position_on_low_margin=st.booleans(),
    long_koef=st.sampled_from([1.0, 1.5]),
    position_check_interval_ms=st.sampled_from([0, 5_000, 63_000]),
)
STREAMS = st.tuples(st.integers(0, 10_000), st.integers(200, 1_500))
DELAYS = st.sampled_from([0, 0, 1, 3])


def _intent_log(log: list[list[object]]) -> list[list[object]]:
    return [list(intents) for intents in log]


@settings(max_examples=40, deadline=None)
@given(config=CONFIGS, stream=STREAMS, delay=DELAYS)
def test_engine_same_events_twice_gives_same_intents(config, stream, delay) -> None:
    seed, n = stream
    first, engine_a, _ = drive(new_engine(config), random_walk(seed, n), ack_delay_events=delay)
    second, engine_b, _ = drive(new_engine(config), random_walk(seed, n), ack_delay_events=delay)
    assert _intent_log(first) == _intent_log(second)
    assert engine_a.save_state() == engine_b.save_state()


@settings(max_examples=60, deadline=None)
@given(config=CONFIGS, stream=STREAMS, delay=DELAYS, latency=st.sampled_from([0, 1_500]))
def test_engine_fast_path_gives_exactly_the_slow_path_results(
    config, stream, delay, latency
) -> None:
    seed, n = stream
    fast, fast_engine, fast_broker = drive(new_engine(config, fast_path=True), random_walk(seed, n),
                                           ack_delay_events=delay, latency_ms=latency)
    slow, slow_engine, slow_broker = drive(new_engine(config, fast_path=False),
                                           random_walk(seed, n), ack_delay_events=delay,
                                           latency_ms=latency)
    assert _intent_log(fast) == _intent_log(slow)
    assert fast_engine.save_state() == slow_engine.save_state()
    assert fast_broker.fills == slow_broker.fills


@settings(max_examples=40, deadline=None)
@given(config=CONFIGS, stream=STREAMS, delay=DELAYS, cut=st.floats(0.05, 0.95))
def test_engine_save_restore_mid_stream_changes_nothing(config, stream, delay, cut) -> None:
    seed, n = stream
    whole, whole_engine, _ = drive(new_engine(config), random_walk(seed, n), ack_delay_events=delay)
    restored, restored_engine, _ = drive(new_engine(config), random_walk(seed, n),
                                         ack_delay_events=delay, restore_at=int(n * cut))
    assert _intent_log(whole) == _intent_log(restored)
    assert whole_engine.save_state() == restored_engine.save_state()


def test_engine_saved_state_is_plain_json() -> None:
    config = GridConfig(amount="x0.002", grid_count=10, grid_step_pct=0.3)
    _, engine, _ = drive(new_engine(config), random_walk(7, 2_000))
    state = engine.save_state()
    assert json.loads(json.dumps(state)) == state
    assert state["orders"], "a running grid holds orders"


def test_engine_streams_exercise_fills_and_quiet_steps() -> None:
    """Guard against vacuous properties: the generated streams really trade."""
    config = GridConfig(amount="0.001", grid_count=10, grid_step_pct=0.2)
    log, engine, broker = drive(new_engine(config), random_walk(3, 1_500))
    assert len(broker.fills) > 20
    assert sum(1 for intents in log if not intents) > 1_000
    assert engine.grid.builds >= 1
