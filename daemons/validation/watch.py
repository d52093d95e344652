"""A continuous watch over live runs: their newest window re-checked on a timer.

Every ``interval_s`` each live run still running (every user's, or one user's) is checked
over its newest window (:func:`~daemons.validation.check.check_run`): from its newest
engine snapshot at or before ``window_s`` ago (its first usable one while it is younger)
to ``settle_s`` ago (the newest seconds are left to the writers still flushing them).
Every check is stored (origin ``watch``); a failing one also gets its reports
(``<reports_dir>/<run>/watch-<end ms>/``) and an alert to the operator's webhook
(``comparison-failed``). The watch ends at the first failing check unless it is told to
keep going; a run it cannot check yet (no snapshot, no market data in the window) is
skipped with a log line, as a run that just started.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from daemons.backtest.live_seed import BEFORE_MARKET
from daemons.backtest.runner import BacktestInputError
from daemons.db import captured, runs
from daemons.db.errors import DataLayerError
from daemons.db.session import Database
from daemons.trading.alerts import Alert, AlertSender
from daemons.validation.check import CheckResult, check_models, check_run, save_check

log = logging.getLogger(__name__)

ALERT_KIND = "comparison-failed"


@dataclass(frozen=True)
class WatchConfig:
    """What the watch checks, how often, and over how much of each run."""

    models: tuple[str, ...] = ("CONSERVATIVE",)
    interval_s: float = 60.0
    window_s: float = 900.0
    settle_s: float = 5.0
    user_id: UUID | None = None
    keep_going: bool = False
    reports_dir: Path | None = None

    def __post_init__(self) -> None:
        check_models(self.models)
        for name in ("interval_s", "window_s"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"watch: {name} must be a positive number of seconds")
        if not 0 <= self.settle_s < float("inf"):
            raise ValueError("watch: settle_s must be >= 0")


def watch(db: Database, config: WatchConfig, alerts: AlertSender, stop: threading.Event, *,
          clock: Callable[[], float] = time.time,
          on_check: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check every running live run each interval until ``stop`` is set, or until the
    first failing check (unless ``keep_going``); return the failing checks of the round
    that ended it (empty when stopped)."""
    while not stop.is_set():
        failures = check_round(db, config, alerts, int(clock() * 1000), on_check)
        if failures and not config.keep_going:
            return failures
        stop.wait(config.interval_s)
    return []


def check_round(db: Database, config: WatchConfig, alerts: AlertSender, now_ms: int,
                on_check: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """One check of every running live run; the failing ones (alerted and reported)."""
    failures = []
    end_ms = now_ms - int(config.settle_s * 1000)
    for run in _running(db, config.user_id):
        try:
            result = check_run(db, run.run_id, config.models, user_id=run.user_id,
                               start_ms=_window_start(db, run, end_ms - int(config.window_s
                                                                            * 1000)),
                               end_ms=end_ms)
        except (BacktestInputError, DataLayerError) as e:
            log.info("watch: run %s not checked yet (%s)", run.run_id, e)
            continue
        if result.passed:
            result = save_check(db, result, origin="watch")
        else:
            out = None if config.reports_dir is None else \
                config.reports_dir / str(run.run_id) / f"watch-{end_ms}"
            result = save_check(db, result, out_dir=out, origin="watch")
            alerts.send(Alert(ALERT_KIND, f"run {run.run_id}", _message(result)))
            failures.append(result)
        if on_check is not None:
            on_check(result)
    return failures


def _running(db: Database, user_id: UUID | None) -> list[runs.Run]:
    """Running live runs: every user's (the operator's watch) or one user's (RLS)."""
    if user_id is None:
        with db.admin() as conn:
            return runs.running(conn)
    with db.unit_of_work(user_id) as conn:
        return runs.running(conn)


def _window_start(db: Database, run: runs.Run, at_ms: int) -> int | None:
    """The newest usable snapshot at or before ``at_ms``; None (the run's first usable
    one) while the run is younger than the window."""
    with db.unit_of_work(run.user_id) as conn:
        return captured.newest_snapshot_ms(conn, run.run_id, at_ms, BEFORE_MARKET)


def _message(result: CheckResult) -> str:
    """Which models failed on what, and where the report is."""
    parts = []
    for model in result.comparison.models:
        if not model.passed:
            failed = ", ".join(f"{m.name} {_value(m.value)} (target {m.target})"
                               for m in model.metrics if m.passed is False)
            parts.append(f"{model.model}: {failed}")
    where = f"; report {result.reports['html']}" if result.reports else ""
    inp = result.comparison.input
    return (f"{inp.symbol} window {inp.start_ms}..{inp.end_ms} ms failed: "
            + "; ".join(parts) + where)


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
