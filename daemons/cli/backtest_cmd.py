"""`gridbot backtest`: replay market data through gridcore with a chosen fill model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer


def backtest(
    config_file: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False,
        help="Strategy parameters as a JSON or YAML mapping (GridConfig fields).",
    ),
    config_set: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE", help="Override one parameter (repeatable)."
    ),
    source: str = typer.Option(
        "bundled", "--source",
        help="bundled (the month of 1-minute bars), generated (a calibrated day of trades), "
             "or a trade CSV path (Bybit public dump or the bundled Binance format).",
    ),
    start: str | None = typer.Option(None, "--from", help="Window start: ISO date/time (UTC) "
                                                            "or epoch milliseconds."),
    end: str | None = typer.Option(None, "--to", help="Window end (exclusive), same forms."),
    fill_model: str = typer.Option(
        "conservative", "--fill-model",
        help="optimistic, conservative, pessimistic or queue (validation.md).",
    ),
    queue_ahead: float = typer.Option(0.0, "--queue-ahead", min=0.0,
                                      help="QUEUE model: base units resting ahead of each order."),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, help="Order latency in ms."),
    balance: str = typer.Option("10000", "--balance", help="Starting USDT balance."),
    symbol: str = typer.Option("BTCUSDT", "--symbol", help="Instrument symbol."),
    tick_size: str = typer.Option("0.1", "--tick-size", help="Instrument price tick."),
    qty_step: str = typer.Option("0.001", "--qty-step", help="Instrument quantity step."),
    seed: int = typer.Option(1, "--seed", help="Seed of the generated source."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Replay market data through the live bot's engine and print what it would have done."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from daemons.backtest.runner import (
        BacktestInputError,
        BacktestSpec,
        iso_ms,
        load_file_source,
        run_backtest,
    )
    from daemons.cli.config_args import load_config
    from gridcore.config import ConfigError

    console = Console(stderr=as_json)
    try:
        spec = BacktestSpec(
            config=load_config(config_file, config_set), symbol=symbol,
            tick_size=_decimal("--tick-size", tick_size), qty_step=_decimal("--qty-step", qty_step),
            fill_model=fill_model, latency_ms=latency_ms, queue_ahead=queue_ahead,
            starting_balance=_decimal("--balance", balance),
            start_ms=_time_ms("--from", start), end_ms=_time_ms("--to", end),
        )
        with console.status(f"loading {source} ..."):
            tape = load_file_source(source, symbol, seed=seed)
        with Progress(TextColumn("replaying"), BarColumn(), TextColumn("{task.completed:,} events"),
                      TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task("replay", total=len(tape))
            run = run_backtest(spec, tape,
                               progress=lambda done: progress.update(task, completed=done))
    except (BacktestInputError, ConfigError, ValueError) as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from None
    summary = run.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    table = Table(title=f"backtest {symbol}, {summary['fill_model']} fills", show_header=False)
    for key, value in summary.items():
        is_time = key in ("first_ts", "last_ts") and isinstance(value, int)
        shown = iso_ms(value) if is_time else value
        table.add_row(key.replace("_", " "), str(shown))
    console.print(table)


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{option}: not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{option}: must be > 0, got {text!r}")
    return value


def _time_ms(option: str, text: str | None) -> int | None:
    """ISO date or date-time (UTC unless an offset is given), or epoch milliseconds."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option}: expected an ISO date/time or epoch ms, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
