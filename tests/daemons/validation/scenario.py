"""Comparison inputs made from real replays: a generated BTCUSDT-like day through gridcore,
one replay standing in for the live run (QUEUE model, 120 ms latency, 1 BTC ahead), the
others replaying the same window with each fill model. Faults are injected into copies."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache

from daemons.backtest.sources import generated_day
from daemons.validation.inputs import ComparisonInput, Decision, Fill, RunSide
from daemons.validation.latency import LatencyStats
from daemons.validation.recorder import RecordingEngine
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.fast_replay import replay_tape
from gridcore.sim.models import FillModelName, make_fill_model
from gridcore.sim.tape import MarketTape

TICK = Decimal("0.1")
LATENCY_MS = 120
LIVE_QUEUE_AHEAD = 1.0
MODEL_QUEUE_AHEAD = 0.3
FEE = Decimal("0.0002")
CONFIG = GridConfig(amount="x0.002", grid_step_pct=0.02, grid_count=30)


@dataclass(frozen=True)
class Replayed:
    fills: tuple[Fill, ...]
    decisions: tuple[Decision, ...]
    grid: tuple[float, ...]


@cache
def day(trades: int = 100_000) -> MarketTape:
    return generated_day(seed=3, trades=trades)


def replay_side(tape: MarketTape, model: str, *, queue_ahead: float = MODEL_QUEUE_AHEAD,
                latency_ms: int = LATENCY_MS, config: GridConfig = CONFIG) -> Replayed:
    """One replay of ``tape`` with its decisions recorded, as a comparison side."""
    engine = RecordingEngine(GridEngine(config, TICK, "0.001", "s1", symbol=tape.symbol))
    broker = SimBroker(tape.symbol, make_fill_model(model, queue_ahead=queue_ahead),
                       maker_fee_rate=FEE, starting_balance=Decimal(100_000),
                       latency_ms=latency_ms)
    replay_tape([tape], engine, broker)  # type: ignore[arg-type]
    first_grid = next(d for d in engine.decisions if d.intent_kind == "place")
    return Replayed(tuple(Fill.from_sim(f, FEE) for f in broker.fills),
                    tuple(engine.decisions), (float(first_grid.price),))


@cache
def live_side(trades: int = 100_000) -> Replayed:
    return replay_side(day(trades), "QUEUE", queue_ahead=LIVE_QUEUE_AHEAD)


@cache
def model_side(model: str, trades: int = 100_000) -> Replayed:
    return replay_side(day(trades), model)


def comparison_input(live: Replayed | None = None, replays: dict[str, Replayed] | None = None,
                     trades: int = 100_000, **changes: object) -> ComparisonInput:
    """The day's comparison: the QUEUE run as live against the four models."""
    tape = day(trades)
    live = live if live is not None else live_side(trades)
    if replays is None:
        replays = {m.value: model_side(m.value, trades) for m in FillModelName}
    inp = ComparisonInput(
        run_id="run-1", symbol=tape.symbol, tick_size=TICK, start_ms=int(tape.ts[0]),
        end_ms=int(tape.ts[-1]), live=RunSide("live", live.fills, live.decisions),
        replays=[RunSide(name, r.fills, r.decisions) for name, r in replays.items()],
        tape=tape, latency=LatencyStats.fixed(LATENCY_MS), grid_levels=live.grid)
    return replace(inp, **changes) if changes else inp
