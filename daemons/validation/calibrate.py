"""Calibrate QUEUE from a live run and store it: what ``gridbot calibrate`` and Dagster call.

The run's replayable window (from its first usable snapshot, as a comparison has it) is
cut at the snapshot nearest its middle, so both parts start from a real engine state: the
first part fits the queue size (:mod:`.calibration`), the second judges it. The order
latency is the run's own (measured from its acknowledgements), the candidates are
multiples of the median public trade size of the window. Nothing reads the venue's hidden
parameters: only the live fills and the captured market.
"""

from __future__ import annotations

import math
import statistics
from uuid import UUID

from daemons.db import calibrations, captured
from daemons.db.session import Database
from daemons.validation.calibration import Calibration, Score, Window, calibrate, candidates
from daemons.validation.check import check_run, owner_of_run
from gridcore.sim.tape import TRADE

MODEL = "QUEUE"


class NothingToCalibrate(ValueError):
    """The run's window gives nothing to fit on (no public trade, no snapshot to cut at)."""


def calibrate_run(db: Database, run_id: UUID, *, user_id: UUID | None = None,
                  start_ms: int | None = None, end_ms: int | None = None,
                  store: bool = True) -> Calibration:
    """Fit and judge QUEUE's queue size on ``run_id`` (from its newest snapshot at or
    before ``start_ms``, default its first usable one, to ``end_ms``); store it for the
    run's owner."""
    owner = owner_of_run(db, run_id, user_id)
    whole = check_run(db, run_id, [MODEL], user_id=owner, start_ms=start_ms, end_ms=end_ms)
    inp = whole.comparison.input
    fit, test = _halves(db, owner, run_id, inp.start_ms, inp.end_ms)
    trades = inp.tape.size[inp.tape.kind == TRADE]
    if not len(trades):
        raise NothingToCalibrate(f"run {run_id}: no public trade captured in its window")
    median = float(statistics.median(trades.tolist()))

    def evaluate(window: Window, queue_ahead: float) -> Score:
        result = check_run(db, run_id, [MODEL], user_id=owner, start_ms=window.start_ms,
                           end_ms=window.end_ms, latency_ms=whole.replay_latency_ms,
                           queue_ahead=queue_ahead)
        model = result.comparison.models[0]
        values = {m.name: m.value for m in model.metrics}
        delta = values["PnL delta"]
        return Score(float(values["trade count match"] or 0.0),
                     math.inf if delta is None else float(delta),
                     len(model.matching.pairs) + len(model.matching.missed),
                     len(model.matching.pairs) + len(model.matching.phantom))

    result = calibrate(inp.symbol, whole.replay_latency_ms, fit, test, candidates(median),
                       evaluate)
    if store:
        with db.unit_of_work(owner) as conn:
            calibrations.insert_calibration(conn, run_id, result)
    return result


def _halves(db: Database, owner: UUID, run_id: UUID, start_ms: int,
            end_ms: int) -> tuple[Window, Window]:
    """Fit and test windows, cut at the run's snapshot nearest the window's middle."""
    with db.unit_of_work(owner) as conn:
        times = captured.snapshot_times(conn, run_id, start_ms, 10_000)
    inside = [t for t in times if start_ms < t < end_ms]
    if not inside:
        raise NothingToCalibrate(f"run {run_id}: no engine snapshot inside its window to cut"
                                 " it at; calibration needs a longer run (snapshots every"
                                 " minute)")
    middle = (start_ms + end_ms) / 2
    cut = min(inside, key=lambda t: abs(t - middle))
    return Window(start_ms, cut), Window(cut, end_ms)
