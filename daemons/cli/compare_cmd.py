"""`gridbot compare`: a live (or shadow) run against seeded replays of its window.

``gridbot compare --user U --run R [--fill-model M ...] [--out DIR] [--from T] [--to T]``
replays the run's window with each fill model (all four by default), prints the verdict
table, writes the HTML, Markdown and JSON reports (``--out``, default
``$GRIDBOT_HOME/reports/<run>/``) and stores the results for the run's owner.
``gridbot compare --watch [--interval-s N] [--window-s N] [--user U]`` re-checks the newest
window of every running live run on a timer, alerts the webhook in
``GRIDBOT_ALERT_WEBHOOK`` (never on the command line: a webhook URL often holds a token)
on the first failing verdict and exits with :data:`FAILED` unless ``--keep-going``. The
logic is ``daemons.validation`` (``check.run_comparison``, ``watch.watch``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import typer

if TYPE_CHECKING:
    from daemons.db.session import Database
    from daemons.validation.check import CheckResult

#: Exit code of ``--watch`` when a check failed (1 and 2 are refusals and usage errors).
FAILED = 3
DAY_S = 86_400.0
MAX_WINDOW_S = 31 * DAY_S
MAX_LATENCY_MS = 3_600_000
MAX_QUEUE = 10**12


def compare(
    user: str | None = typer.Option(None, "--user", help="The run's owner (required "
                                                         "without --watch)."),
    run: str | None = typer.Option(None, "--run", help="The live or shadow run to compare."),
    fill_models: list[str] = typer.Option(
        [], "--fill-model", help="optimistic, conservative, pessimistic or queue "
                                 "(repeatable; default: all four, conservative with --watch)."),
    out: Path | None = typer.Option(
        None, "--out", file_okay=False, dir_okay=True,
        help="Directory of the reports (default: $GRIDBOT_HOME/reports/<run>)."),
    start: str | None = typer.Option(
        None, "--from", help="Replay from the run's newest snapshot at or before this time "
                             "(ISO UTC or epoch ms; default: its first usable snapshot)."),
    end: str | None = typer.Option(
        None, "--to", help="Window end, exclusive (default: the run's end, or now)."),
    latency_ms: int | None = typer.Option(
        None, "--latency-ms", min=0, max=MAX_LATENCY_MS,
        help="Order latency of the replays (default: the run's measured median)."),
    queue_ahead: float | None = typer.Option(
        None, "--queue-ahead", min=0.0, max=MAX_QUEUE,
        help="QUEUE model: base units resting ahead of each new order (default: the newest "
             "calibration of the symbol, `gridbot calibrate`; 0 before any)."),
    no_store: bool = typer.Option(False, "--no-store", help="Print and report, store nothing."),
    watch: bool = typer.Option(False, "--watch", help="Re-check every running live run's "
                                                      "newest window on a timer."),
    interval_s: float = typer.Option(60.0, "--interval-s", help="--watch: seconds between "
                                                                "rounds."),
    window_s: float = typer.Option(900.0, "--window-s", help="--watch: seconds of each "
                                                             "run's newest window."),
    keep_going: bool = typer.Option(False, "--keep-going", help="--watch: alert and go on "
                                                                "after a failing check."),
) -> None:
    """Compare a live run with replays of its window (see `gridbot compare --help`)."""
    from daemons.backtest.runner import BacktestInputError
    from daemons.cli.support import (
        USAGE_ERROR,
        cli_errors,
        fail,
        open_database,
        parse_run_id,
        time_ms,
    )
    from daemons.validation.check import ALL_MODELS, check_models

    try:
        for name, value in (("--interval-s", interval_s), ("--window-s", window_s)):
            if not (math.isfinite(value) and 0 < value <= MAX_WINDOW_S):
                raise ValueError(f"{name}: a number of seconds above 0 and at most "
                                 f"{MAX_WINDOW_S:g}")
        if queue_ahead is not None and not math.isfinite(queue_ahead):
            raise ValueError("--queue-ahead: must be a finite number")
        models = check_models(fill_models or (("CONSERVATIVE",) if watch else ALL_MODELS))
        window = (time_ms("--from", start), time_ms("--to", end))
        run_id = None if run is None else parse_run_id(run)
    except ValueError as e:
        fail(str(e))
    if watch and run is not None:
        fail("--watch checks every running live run: drop --run", USAGE_ERROR)
    if not watch and (user is None or run is None):
        fail("name the run to compare with --user and --run (or use --watch)", USAGE_ERROR)
    with cli_errors():
        db = open_database()
        try:
            if watch:
                _watch(db, models, interval_s, window_s, user, keep_going)
                return
            _compare(db, user, run_id, models, window, latency_ms, queue_ahead, out,
                     not no_store)
        except (BacktestInputError, ValueError) as e:
            fail(str(e))


def _compare(db: Database, user: str, run_id: UUID, models: tuple[str, ...],
             window: tuple[int | None, int | None], latency_ms: int | None,
             queue_ahead: float | None,
             out: Path | None, store: bool) -> None:
    from daemons.db.settings import gridbot_home
    from daemons.validation.check import run_comparison, user_id_of

    user_id = user_id_of(db, user)
    directory = out if out is not None else gridbot_home() / "reports" / str(run_id)
    result = run_comparison(db, run_id, models, user_id=user_id, start_ms=window[0],
                            end_ms=window[1], latency_ms=latency_ms, queue_ahead=queue_ahead,
                            out_dir=directory, store=store)
    print_verdicts(result)
    _echo_parity(result)
    for kind, path in sorted((result.reports or {}).items()):
        typer.echo(f"report ({kind}): {path}")
    if result.comparison_id is not None:
        typer.echo(f"stored as comparison {result.comparison_id}")


def _echo_parity(result: CheckResult) -> None:
    """One line on gridcore's books against the exchange's reports, and each failure."""
    parity = result.parity
    if parity is None:
        typer.echo("accounting parity: not checked (a shadow run, or no position report "
                   "before the window)")
        return
    verdict = "ok" if parity.ok else f"FAIL ({len(parity.failures)} quantities)"
    typer.echo(f"accounting parity: {verdict}, {len(parity.lines)} quantities against the "
               "exchange's reports")
    for line in parity.failures:
        side = "" if line.position_idx is None else f" (side {line.position_idx})"
        typer.echo(f"  {line.quantity}{side}: gridcore {line.gridcore}, exchange "
                   f"{line.exchange}, worst difference {line.worst_difference}")


def print_verdicts(result: CheckResult) -> None:
    """The verdict table: each metric per model (value, pass/FAIL), overall verdicts."""
    from daemons.cli.support import print_table

    inp = result.comparison.input
    models = result.comparison.models
    names = [m.name for m in models[0].metrics] if models else []
    rows = []
    for name in names:
        cells = []
        for model in models:
            metric = next(m for m in model.metrics if m.name == name)
            verdict = {True: "pass", False: "FAIL", None: metric.target}[metric.passed]
            shown = "n/a" if metric.value is None else f"{metric.value:.4g}"
            cells.append(f"{shown} {verdict}")
        rows.append((name, *cells))
    rows.append(("overall", *("pass" if m.passed else "FAIL" for m in models)))
    latency = inp.latency
    print_table(f"run {inp.run_id} {inp.symbol} {inp.start_ms}..{inp.end_ms} ms; latency p50 "
                f"{latency.p50_ms} ms, p99 {latency.p99_ms} ms (replays: "
                f"{result.replay_latency_ms} ms)", ("metric", *(m.model for m in models)),
                rows)


def _watch(db: Database, models: tuple[str, ...], interval_s: float, window_s: float,
           user: str | None, keep_going: bool) -> None:
    import os
    import signal
    import threading

    from daemons.cli.trade_cmd import WEBHOOK_ENV
    from daemons.db.settings import gridbot_home
    from daemons.trading.alerts import AlertSender
    from daemons.validation.check import user_id_of
    from daemons.validation.watch import WatchConfig, watch

    config = WatchConfig(models=models, interval_s=interval_s, window_s=window_s,
                         user_id=None if user is None else user_id_of(db, user),
                         keep_going=keep_going, reports_dir=gridbot_home() / "reports")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    alerts = AlertSender(os.environ.get(WEBHOOK_ENV) or None, throttle_s=interval_s)
    typer.echo(f"watching running live runs every {interval_s:g} s over their newest "
               f"{window_s:g} s ({', '.join(models)})")
    try:
        failures = watch(db, config, alerts, stop, on_check=_echo_check)
    finally:
        alerts.close()
    if failures:
        typer.echo(f"failing check: {', '.join(str(f.comparison.input.run_id) for f in failures)}",
                   err=True)
        raise typer.Exit(FAILED)


def _echo_check(result: CheckResult) -> None:
    inp = result.comparison.input
    verdict = "pass" if result.passed else "FAIL " + ", ".join(result.failed_models)
    typer.echo(f"run {inp.run_id} {inp.start_ms}..{inp.end_ms} ms: {verdict}"
               + (f" (report {result.reports['html']})" if result.reports else ""))
