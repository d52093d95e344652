"""Seeded replays of a run's window, one per fill model (docs/validation.md, "Seeded
replays").

The window is resolved once through the backtest request (``daemons.backtest.request``,
what ``gridbot backtest --seed-run`` runs): the run's engine snapshot, the account as
captured then, its maker fee, the captured market of the window. The market is read once
into one tape; each model replays that tape from the same seed, with the latency and queue
it is given, its engine wrapped in a :class:`~daemons.validation.recorder.RecordingEngine`
so its decisions are compared with the run's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from daemons.backtest.live_seed import LiveSeed
from daemons.backtest.request import BacktestRequest, Prepared, prepare
from daemons.backtest.runner import BacktestInputError, BacktestRun, after_cut
from daemons.db.session import Database
from daemons.validation.inputs import Fill, RunSide
from daemons.validation.recorder import RecordingEngine
from gridcore.engine import GridEngine
from gridcore.sim.models import FillModelName
from gridcore.sim.tape import MarketTape


@dataclass(frozen=True)
class SeededWindow:
    """A run's window ready to replay: the resolved request, its seed and its market."""

    prepared: Prepared
    tape: MarketTape
    end_ms: int

    @property
    def seed(self) -> LiveSeed:
        assert self.prepared.live_seed is not None  # prepared with a seed run
        return self.prepared.live_seed

    @property
    def start_ms(self) -> int:
        return self.seed.snapshot_ts


def seeded_window(db: Database, run_id: UUID, start_ms: int, end_ms: int) -> SeededWindow:
    """Resolve the replay of ``run_id`` from its newest snapshot at or before ``start_ms``
    up to ``end_ms`` (exclusive), and read the window's captured market; refused
    (:class:`BacktestInputError`) when the market holds fewer events in the snapshot's
    millisecond than the engine had stepped (it saw one the capture did not store)."""
    request = BacktestRequest(seed_run=str(run_id), start_ms=start_ms, end_ms=end_ms,
                              store=False)
    prepared = prepare(request, db)
    if prepared.spec.start_ms is not None and prepared.spec.start_ms >= end_ms:
        raise BacktestInputError(f"window: the run's snapshot ({prepared.spec.start_ms} ms) "
                                 f"is not before the window's end ({end_ms} ms)")
    tapes = list(prepared.tapes)
    if not tapes:
        raise BacktestInputError(f"window: no market data of {prepared.spec.symbol} captured "
                                 f"from {prepared.spec.start_ms} to {end_ms} ms")
    window = SeededWindow(prepared, MarketTape.merge(*tapes), end_ms)
    list(after_cut([window.tape], window.seed.snapshot_ts, window.seed.events_at_ts))
    return window


def replay_model(window: SeededWindow, model: str, *, latency_ms: int,
                 queue_ahead: float = 0.0) -> tuple[RunSide, BacktestRun]:
    """Replay the window with ``model``: the side it makes (named by the model) and the run.

    ``latency_ms`` and ``queue_ahead`` are the calibration's knobs (a run's measured latency
    by default; QUEUE's resting size ahead of each new order, in base units).
    """
    name = FillModelName(model.upper()).value
    spec = replace(window.prepared.spec, fill_model=name, latency_ms=latency_ms,
                   queue_ahead=queue_ahead)
    prepared = replace(window.prepared, spec=spec, tapes=window.tape, total=None, store=False)
    recorders: list[RecordingEngine] = []

    def record(engine: GridEngine) -> RecordingEngine:
        recorders.append(RecordingEngine(engine))
        return recorders[-1]

    run = prepared.run(wrap_engine=record).run
    fills = tuple(Fill.from_sim(f, spec.maker_fee_rate) for f in run.broker.fills)
    return RunSide(name, fills, tuple(recorders[0].decisions)), run
