"""The nightly validation of one UTC day: what Dagster's nightly assets run
(``gridbot_pipelines/defs/validation``), every user's runs at once.

* :func:`day_runs`: every live or shadow run active during the day, each with its part of
  the day (from the day's start, or from the run's first usable snapshot if it started
  that day, to the run's end, the day's end or now, whichever comes first).
* :func:`compare_day`: each of them compared over its part (:func:`.check.run_comparison`,
  all four models, stored for its owner with origin ``pipeline``, reports in
  ``<reports>/<run>/nightly-<day>/``).
* :func:`calibrate_day`: QUEUE calibrated (:func:`.calibrate.calibrate_run`) for each user
  and symbol on its longest live run of the day (a shadow run's fills come from a model,
  not from a venue: nothing to fit). Run after the day's comparisons, so these were made
  with the calibration in force during the day.

A run that gives nothing to replay (stopped before its first usable snapshot, no market
captured in its part of the day, too short to cut for a calibration) is skipped with the
reason: a night with such a run is no failed night. Any other error is recorded for its
run, the others go on, and the caller decides (the assets fail after the others).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from daemons.backtest.runner import BacktestInputError
from daemons.db import runs
from daemons.db.errors import InvalidInput, NotFound
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms, ms_of_datetime
from daemons.validation.calibrate import NothingToCalibrate, calibrate_run
from daemons.validation.calibration import Calibration
from daemons.validation.check import ALL_MODELS, CheckResult, run_comparison

#: What "nothing to replay" raises: no usable snapshot (NotFound, InvalidInput), no market
#: captured in the window (BacktestInputError), nothing to fit a calibration on.
NOTHING_TO_REPLAY = (NotFound, InvalidInput, BacktestInputError, NothingToCalibrate)
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayRun:
    """A run and its part of the day (``start_ms`` None: from its first usable snapshot)."""

    run: runs.Run
    start_ms: int | None
    end_ms: int
    begins_ms: int  # where its part of the day begins, for its length

    @property
    def symbol(self) -> str:
        return str(self.run.config_snapshot.get("symbol", ""))

    @property
    def length_ms(self) -> int:
        return self.end_ms - self.begins_ms


@dataclass(frozen=True)
class Done:
    """One run's outcome: its result, or why it was skipped or failed."""

    day_run: DayRun
    result: CheckResult | Calibration | None = None
    skipped: str | None = None
    failed: str | None = None


def day_runs(db: Database, day_start_ms: int, day_end_ms: int,
             now_ms: int | None = None) -> list[DayRun]:
    """Every live or shadow run active in [day start, day end), every user's."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    with db.admin() as conn:
        active = runs.active_between(conn, datetime_of_ms(day_start_ms),
                                     datetime_of_ms(day_end_ms))
    found = []
    for run in active:
        started = ms_of_datetime(run.start_ts)
        ended = now_ms if run.end_ts is None else ms_of_datetime(run.end_ts)
        found.append(DayRun(run, None if started >= day_start_ms else day_start_ms,
                            min(ended, day_end_ms, now_ms), max(started, day_start_ms)))
    return found


def compare_day(db: Database, day: str, found: Sequence[DayRun], reports: Path,
                models: Sequence[str] = ALL_MODELS) -> list[Done]:
    """Each run compared over its part of the day, stored, reports written."""
    return [_attempt(r, lambda r=r: run_comparison(
        db, r.run.run_id, models, user_id=r.run.user_id, start_ms=r.start_ms, end_ms=r.end_ms,
        out_dir=reports / str(r.run.run_id) / f"nightly-{day}", origin="pipeline"))
        for r in found]


def longest_live_runs(found: Sequence[DayRun]) -> list[DayRun]:
    """Per user and symbol, the live run with the longest part of the day."""
    best: dict[tuple[UUID, str], DayRun] = {}
    for r in found:
        key = (r.run.user_id, r.symbol)
        if r.run.run_type == "live" and (key not in best or r.length_ms > best[key].length_ms):
            best[key] = r
    return list(best.values())


def calibrate_day(db: Database, found: Sequence[DayRun]) -> list[Done]:
    """QUEUE calibrated on each user's longest live run per symbol, stored."""
    return [_attempt(r, lambda r=r: calibrate_run(
        db, r.run.run_id, user_id=r.run.user_id, start_ms=r.start_ms, end_ms=r.end_ms))
        for r in longest_live_runs(found)]


def _attempt(day_run: DayRun, work: Callable[[], T]) -> Done:
    """``work`` for one run: its result, its skip (nothing to replay) or its failure."""
    try:
        return Done(day_run, result=work())
    except NOTHING_TO_REPLAY as e:
        log.info("run %s: skipped (%s)", day_run.run.run_id, e)
        return Done(day_run, skipped=str(e)[:300])
    except Exception as e:  # one run's failure must not cost the others
        log.exception("run %s: failed", day_run.run.run_id)
        return Done(day_run, failed=f"{type(e).__name__}: {str(e)[:300]}")
