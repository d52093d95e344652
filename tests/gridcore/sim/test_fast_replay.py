"""The vectorised replay gives exactly what the per-event reference replay gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.fast_replay import replay_tape
from gridcore.sim.models import FillModelName, make_fill_model
from gridcore.sim.replay import replay
from gridcore.sim.tape import FUNDING, MarketTape
from tests.gridcore.sim.tape_factory import synthetic_tape

EIGHT_HOURS_MS = 8 * 3_600_000

MODELS = [m.value for m in FillModelName]


def _run(tape, config, model, *, fast: bool, latency_ms: int = 0, chunks: int = 1):
    engine = GridEngine(config, "0.1", "0.001", "t1", symbol="BTCUSDT", fast_path=fast)
    broker = SimBroker("BTCUSDT", make_fill_model(model, queue_ahead=0.05),
                       latency_ms=latency_ms)
    if fast:
        size = -(-len(tape) // chunks)
        parts = [tape.window(k, min(len(tape), k + size)) for k in range(0, len(tape), size)]
        result = replay_tape(parts, engine, broker)
    else:
        result = replay(tape.events(), engine, broker)
    return result, engine, broker


def _same(a, b) -> None:
    (ra, ea, ba), (rb, eb, bb) = a, b
    assert ba.fills == bb.fills
    assert ra.equity_curve == rb.equity_curve
    assert ra.summary(ea, ba) == rb.summary(eb, bb)
    assert ea.save_state() == eb.save_state()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("latency_ms", [0, 250])
def test_fast_replay_each_model_equals_reference(model: str, latency_ms: int) -> None:
    tape = synthetic_tape(seed=11, n_trades=20_000)
    config = GridConfig(amount="0.002", grid_count=20, grid_step_pct=0.1)
    fast = _run(tape, config, model, fast=True, latency_ms=latency_ms, chunks=3)
    slow = _run(tape, config, model, fast=False, latency_ms=latency_ms)
    _same(fast, slow)
    assert len(fast[2].fills) > 10, "the scenario must trade"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), model=st.sampled_from(MODELS),
       step=st.sampled_from([0.05, 0.1, 0.3]), count=st.integers(2, 24),
       latency=st.sampled_from([0, 120]), amount=st.sampled_from(["0.001", "x0.002"]))
def test_fast_replay_random_scenarios_equal_reference(seed, model, step, count, latency,
                                                      amount) -> None:
    tape = synthetic_tape(seed=seed, n_trades=4_000)
    config = GridConfig(amount=amount, grid_count=count, grid_step_pct=step)
    _same(_run(tape, config, model, fast=True, latency_ms=latency, chunks=2),
          _run(tape, config, model, fast=False, latency_ms=latency))


def _across_two_funding_times(seed: int, n_trades: int) -> MarketTape:
    """A synthetic tape stretched to ~18 hours, starting 4 hours before a funding time,
    with the two 8-hourly funding rows inside it: the first with a captured mark price,
    the second without (the broker then prices it at the last trade)."""
    base = synthetic_tape(seed=seed, n_trades=n_trades, funding=False)
    boundary = (int(base.ts[0]) // EIGHT_HOURS_MS + 1) * EIGHT_HOURS_MS
    ts = boundary - 4 * 3_600_000 + (base.ts - base.ts[0]) * 80
    stretched = MarketTape.from_rows("BTCUSDT", ts=ts, kind=base.kind, price=base.price,
                                     size=base.size, is_buy=base.is_buy, seq=base.seq)
    f_ts = np.array([boundary, boundary + EIGHT_HOURS_MS], np.int64)
    assert ts[-1] > f_ts[-1]
    mark = base.price[np.searchsorted(ts, f_ts[0])] + 25.0
    funding = MarketTape.from_rows("BTCUSDT", ts=f_ts, kind=np.full(2, FUNDING),
                                   price=np.array([mark, np.nan]),
                                   size=np.array([0.0003, -0.0002]))
    return MarketTape.merge(stretched, funding)


@pytest.mark.parametrize("model", MODELS)
def test_fast_replay_equals_reference_across_funding_times(model: str) -> None:
    """Funding rows (with and without a mark price) are stepped by both replays alike."""
    tape = _across_two_funding_times(seed=11, n_trades=20_000)
    config = GridConfig(amount="0.002", grid_count=20, grid_step_pct=0.1)
    fast = _run(tape, config, model, fast=True, latency_ms=250, chunks=3)
    _same(fast, _run(tape, config, model, fast=False, latency_ms=250))
    assert fast[2].funding_paid != 0, "positions must be open at a funding time"


def test_fast_replay_skips_most_events() -> None:
    """Guard that the fast replay is really vectorised: few events reach the engine."""
    tape = synthetic_tape(seed=5, n_trades=30_000)
    engine = GridEngine(GridConfig(amount="0.001", grid_count=20, grid_step_pct=0.3), "0.1",
                        "0.001", "t1", symbol="BTCUSDT")
    stepped = []
    original = engine.on_event
    engine.on_event = lambda event: stepped.append(event) or original(event)  # type: ignore
    result = replay_tape([tape], engine, SimBroker("BTCUSDT", make_fill_model("CONSERVATIVE")))
    assert result.events == len(tape)
    assert len(stepped) < len(tape) / 5
