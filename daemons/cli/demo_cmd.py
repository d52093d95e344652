"""`gridbot demo`: the main job, the whole system on the embedded defaults.

A thin caller of :mod:`daemons.demo.run`: it shows the stages as they go (rich progress),
prints the verdict table (per run, each metric with its target and verdict, per fill
model) and the reports' paths, and with ``--ui`` keeps the Dagster UI up until Ctrl-C.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from daemons.demo.run import DemoResult
    from daemons.demo.verdict import RunVerdict


def demo(
    minutes: float = typer.Option(2.0, "--minutes", min=0.25, max=60.0,
                                  help="Wall minutes of trading (the market runs --speed "
                                       "times faster)."),
    speed: float = typer.Option(8.0, "--speed", min=1.0, max=60.0,
                                help="Market seconds per wall second of the venue's tape."),
    inject_divergence: bool = typer.Option(
        True, "--inject-divergence/--no-inject-divergence",
        help="Make one account's replay assume another grid step than its live engine "
             "traded with (the comparison must name it engine divergence)."),
    ui: bool = typer.Option(False, "--ui", help="Leave the Dagster UI running, everything "
                                                "materialised, until Ctrl-C."),
    ui_port: int = typer.Option(3000, "--ui-port", min=1, max=65535,
                                help="Port of the Dagster UI (--ui)."),
    home: Path | None = typer.Option(
        None, "--home", file_okay=False,
        help="The demo's directory, emptied first (default: GRIDBOT_HOME/demo)."),
) -> None:
    """Run the whole system on the embedded defaults and print the validation verdicts.

    Starts embedded PostgreSQL and the local venue (bundled real bars, four symbols),
    creates two users with two accounts each through the CLI (one account in shadow),
    captures and trades for --minutes, runs Dagster's nightly validation of the day and
    prints the verdict table. Ctrl-C at any moment stops every process it started.
    """
    from rich.console import Console

    from daemons.cli.support import fail
    from daemons.demo.children import ChildFailed
    from daemons.demo.home import DemoHomeError, default_home
    from daemons.demo.run import Demo, DemoOptions

    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console.width = 160  # a log file gets whole lines and tables, not 80 columns
    options = DemoOptions(home=home or default_home(), trade_s=minutes * 60.0, speed=speed,
                          inject_divergence=inject_divergence, ui=ui, ui_port=ui_port)
    _interrupt_on_sigterm()
    with _StageProgress(console) as reporter:
        try:
            result = Demo(options, reporter).run(wait_for_ui=_wait_for_ui(console))
        except DemoHomeError as e:
            fail(str(e))
        except ChildFailed as e:
            fail(f"demo stopped: {e}")
        except KeyboardInterrupt:
            console.print("interrupted: every process the demo started is stopped")
            raise typer.Exit(130) from None
    _print_result(console, result)


def _interrupt_on_sigterm() -> None:
    """SIGTERM ends the demo as Ctrl-C does (children stopped on the way out)."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _wait_for_ui(console: Console):  # noqa: ANN202
    def wait(url: str) -> None:
        console.print(f"Dagster UI: {url}  (everything materialised; Ctrl-C stops it and "
                      "every other process of the demo)")
        threading.Event().wait()

    return wait


class _StageProgress:
    """The demo's progress: one line per stage, a bar when the stage knows its length.

    On a terminal rich redraws the lines; elsewhere (a log file, CI) each stage prints
    one plain line as it starts and its last detail as it ends, which a redrawn bar
    cannot give a file.
    """

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 BarColumn(), TextColumn("{task.fields[detail]}"),
                                 TimeElapsedColumn(), console=console,
                                 disable=not console.is_terminal)
        self.console = console
        self.task: int | None = None
        self.detail = ""
        self.number = 0

    def __enter__(self) -> _StageProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self.progress.stop()

    def _finish(self) -> None:
        if self.task is not None:
            total = self.progress.tasks[-1].total
            self.progress.update(self.task, completed=total or 1, total=total or 1)
            if self.progress.disable and self.detail:
                self.console.print(f"    {self.detail}", markup=False, highlight=False)
        self.detail = ""

    def stage(self, title: str, total: float | None = None) -> None:
        self._finish()
        self.number += 1
        description = f"[{self.number}] {title}"
        if self.progress.disable:
            self.console.print(description, markup=False, highlight=False)
        self.task = self.progress.add_task(description, total=total, detail="")

    def update(self, completed: float, detail: str = "") -> None:
        if self.task is not None:
            self.detail = detail
            self.progress.update(self.task, completed=completed, detail=detail)


def _print_result(console: Console, result: DemoResult) -> None:
    from rich.table import Table

    if not result.verdicts:
        console.print("[red]the validation stored no comparison[/red]; logs in "
                      f"{result.logs}")
        raise typer.Exit(1)
    models = [m.model for m in result.verdicts[0].models]
    for verdict in result.verdicts:
        table = Table(title=_title(verdict, result.divergent), title_justify="left")
        table.add_column("metric")
        table.add_column("target")
        for model in models:
            table.add_column(model, justify="right")
        for n, metric in enumerate(verdict.models[0].metrics):
            cells = [_cell(m.metrics[n]) for m in verdict.models]
            table.add_row(metric["name"], metric["target"] or "(reported)", *cells)
        table.add_row("verdict", "", *["[green]PASS[/green]" if m.passed else "[red]FAIL[/red]"
                                       for m in verdict.models])
        console.print(table)
        for model in verdict.models:
            if model.reasons and not model.passed:
                reasons = ", ".join(f"{n} {r}" for r, n in model.reasons.most_common())
                console.print(f"  {model.model}: unexplained fills: {reasons}")
        _print_divergence(console, verdict)
    for path in result.reports:
        console.print(f"report: {path}", markup=False, highlight=False)
    console.print(f"verdicts (JSON): {result.home / 'verdicts.json'}", markup=False,
                  highlight=False)
    console.print(f"logs: {result.logs}", markup=False, highlight=False)


def _title(verdict: RunVerdict, divergent: str | None) -> str:
    window = (f"{verdict.window_start:%H:%M:%S}-{verdict.window_end:%H:%M:%S} UTC")
    injected = (" [yellow](injected: its replay assumes another grid step)[/yellow]"
                if divergent == f"{verdict.user}/{verdict.account}" else "")
    return f"{verdict.label}, {window}{injected}"


def _cell(metric: dict) -> str:
    value = metric["value"]
    text = "-" if value is None else f"{value:.3g} {metric['unit']}".strip()
    if metric["passed"] is None:
        return text
    return f"{text} [green]pass[/green]" if metric["passed"] else f"{text} [red]fail[/red]"


def _print_divergence(console: Console, verdict: RunVerdict) -> None:
    conservative = next((m for m in verdict.models if m.model == "CONSERVATIVE"), None)
    divergence = conservative.divergence if conservative else None
    if conservative is None or divergence is None or conservative.passed:
        return
    live, replay = divergence.get("live") or {}, divergence.get("replay") or {}
    console.print(f"  engine divergence: decision {divergence['index']}: live "
                  f"{live.get('intent_kind')} {live.get('price')}, replay "
                  f"{replay.get('intent_kind')} {replay.get('price')}")
