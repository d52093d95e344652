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
    strategy: int | None = typer.Option(
        None, "--strategy", help="Use a stored strategy's parameters and symbol; results are "
                                 "stored for its owner."),
    source: str = typer.Option(
        "bundled", "--source",
        help="db (captured data), bundled (the month of 1-minute bars), generated (a "
             "calibrated day of trades), or a trade CSV path (Bybit dump or bundled format).",
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
    seed_run: str | None = typer.Option(
        None, "--seed-run", help="Start from where this live run stood at --from (its newest "
                                 "engine snapshot), with its positions, wallet and orders."),
    user: str | None = typer.Option(None, "--user", help="Store the results for this user."),
    no_store: bool = typer.Option(False, "--no-store", help="Print only, store nothing."),
    balance: str = typer.Option("10000", "--balance", help="Starting USDT balance."),
    symbol: str = typer.Option("BTCUSDT", "--symbol", help="Instrument symbol."),
    tick_size: str = typer.Option("0.1", "--tick-size", help="Instrument price tick."),
    qty_step: str = typer.Option("0.001", "--qty-step", help="Instrument quantity step."),
    seed: int = typer.Option(1, "--seed", help="Seed of the generated source."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Replay market data through the live bot's engine and print what it would have done.

    With --strategy, --user or --seed-run the run is stored in PostgreSQL (a runs row of
    type backtest, its simulated executions, equity curve and summary).
    """
    from rich.console import Console

    from daemons.backtest.runner import BacktestInputError, BacktestSpec
    from daemons.cli.config_args import load_config
    from daemons.db.cli_support import cli_errors, fail
    from gridcore.config import ConfigError

    console = Console(stderr=as_json)
    request = _Request(source=source, strategy=strategy, seed_run=seed_run, user=user,
                       store=not no_store, seed=seed)
    with cli_errors():
        try:
            base = request.resolve_owner(symbol)
            spec = BacktestSpec(
                config=load_config(config_file, config_set, base=base.config),
                symbol=base.symbol, tick_size=_decimal("--tick-size", tick_size),
                qty_step=_decimal("--qty-step", qty_step), fill_model=fill_model,
                latency_ms=latency_ms, queue_ahead=queue_ahead,
                starting_balance=_decimal("--balance", balance),
                start_ms=_time_ms("--from", start), end_ms=_time_ms("--to", end),
            )
            summary = request.run(spec, console)
        except (BacktestInputError, ConfigError, ValueError) as error:
            fail(str(error))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(console, spec.symbol, summary)


class _Request:
    """Resolves where data comes from and whose run it is, then runs and stores."""

    def __init__(self, *, source: str, strategy: int | None, seed_run: str | None,
                 user: str | None, store: bool, seed: int) -> None:
        self.source, self.strategy_id, self.seed_run = source, strategy, seed_run
        self.user, self.store, self.seed = user, store, seed
        self.db = None
        self.owner = None
        self.account_id = None
        self.live_seed = None

    def resolve_owner(self, symbol: str) -> _Base:
        """Open the database if needed; find the owner, config and symbol to use."""
        from daemons.db import strategies, users
        from daemons.db.cli_support import open_database

        needs_db = (self.source == "db" or self.strategy_id is not None
                    or self.seed_run is not None or self.user is not None)
        if not needs_db:
            return _Base(None, symbol)
        self.db = open_database()
        base = _Base(None, symbol)
        with self.db.admin() as conn:
            if self.user is not None:
                self.owner = users.get_user(conn, self.user).user_id
            if self.strategy_id is not None:
                found = strategies.get_strategy(conn, self.strategy_id)
                self.owner, self.account_id = found.user_id, found.account_id
                base = _Base(found.config, found.symbol)
            if self.seed_run is not None:
                row = conn.execute("SELECT user_id FROM runs WHERE run_id::text = %s",
                                   [self.seed_run]).fetchone()
                if row is None:
                    raise ValueError(f"--seed-run: unknown run {self.seed_run}")
                self.owner = row[0]
        return base

    def run(self, spec, console) -> dict[str, object]:
        from dataclasses import replace

        from daemons.backtest.db_source import captured_span, db_tapes
        from daemons.backtest.live_seed import load_live_seed
        from daemons.backtest.runner import BacktestInputError, load_file_source, run_backtest
        from daemons.backtest.store import store_backtest

        if self.seed_run is not None:
            if spec.start_ms is None:
                raise BacktestInputError("--seed-run needs --from (the moment to start from)")
            with self.db.unit_of_work(self.owner) as conn:
                self.live_seed = load_live_seed(conn, _uuid(self.seed_run), spec.start_ms)
            self.account_id = self.live_seed.account_id
            spec = replace(spec, symbol=self.live_seed.symbol,
                           start_ms=self.live_seed.snapshot_ts + 1)
        if self.source == "db":
            span = captured_span(self.db, spec.symbol)
            if span is None:
                raise BacktestInputError(f"source: no captured trades of {spec.symbol}")
            start = spec.start_ms if spec.start_ms is not None else span[0]
            stop = spec.end_ms if spec.end_ms is not None else span[1] + 1
            tapes = db_tapes(self.db, spec.symbol, start, stop)
        else:
            with console.status(f"loading {self.source} ..."):
                tapes = load_file_source(self.source, spec.symbol, seed=self.seed)
        with _progress(console) as update:
            run = run_backtest(spec, tapes, seed=self.live_seed, progress=update)
        summary = run.summary()
        if self.owner is not None and self.store:
            summary["run_id"] = str(store_backtest(
                self.db, self.owner, run, source=self.source, account_id=self.account_id,
                strategy_id=self.strategy_id,
                seeded_from=self.live_seed.run_id if self.live_seed else None))
        return summary


class _Base:
    """Parameters a stored strategy provides (none for an ad-hoc backtest)."""

    def __init__(self, config, symbol: str) -> None:
        self.config, self.symbol = config, symbol


def _progress(console):
    from contextlib import contextmanager

    from rich.progress import Progress, SpinnerColumn, TextColumn

    @contextmanager
    def bar():
        with Progress(SpinnerColumn(), TextColumn("replayed {task.completed:,} events"),
                      console=console, transient=True) as progress:
            task = progress.add_task("replay", total=None)
            yield lambda done: progress.update(task, completed=done)

    return bar()


def _print_summary(console, symbol: str, summary: dict[str, object]) -> None:
    from rich.table import Table

    from daemons.backtest.runner import iso_ms

    table = Table(title=f"backtest {symbol}, {summary['fill_model']} fills", show_header=False)
    for key, value in summary.items():
        is_time = key in ("first_ts", "last_ts") and isinstance(value, int)
        table.add_row(key.replace("_", " "), str(iso_ms(value) if is_time else value))
    console.print(table)


def _uuid(text: str):
    from uuid import UUID

    try:
        return UUID(text)
    except ValueError:
        raise ValueError(f"--seed-run: not a run id: {text!r}") from None


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
