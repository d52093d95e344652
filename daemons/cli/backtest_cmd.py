"""`gridbot backtest`: replay market data through gridcore with a chosen fill model.

The command reads its options into a :class:`~daemons.backtest.request.BacktestRequest`
and shows progress and the summary; resolving the owner, the stored strategy, the seeded
run, the account's fee and the data, replaying and storing are the request's, which the
Dagster assets and the comparison call too.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import typer

#: Bounds of the numeric options: beyond them a value is a typo, not a scenario.
MAX_ID = 2**63 - 1  # PostgreSQL bigint
MAX_AMOUNT = 10**12  # USDT of a balance, base units queued ahead
MAX_STEP = 10**6  # a price tick or quantity step
#: Below this a tick or step is a typo (Bybit's smallest tick is 1e-8): a tick of 1e-300 would
#: put prices 1e300 ticks away, past what an order id can name.
MIN_STEP = 1e-10
MAX_FEE = Decimal("0.01")  # a maker fee rate (1 %), either sign
MAX_LATENCY_MS = 3_600_000


def backtest(
    config_file: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False,
        help="Strategy parameters as a JSON or YAML mapping (GridConfig fields).",
    ),
    config_set: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE",
        help="Override one parameter (repeatable); with --strategy, overrides its stored ones.",
    ),
    strategy: int | None = typer.Option(
        None, "--strategy", min=1, max=MAX_ID,
        help="Use a stored strategy's parameters, symbol and account fee rate; results are "
             "stored for its owner. Not with --config."),
    source: str | None = typer.Option(
        None, "--source",
        help="db (captured data; the default with --strategy or --seed-run), bundled (the "
             "month of BTCUSDT 1-minute bars; the default otherwise), generated (a "
             "BTCUSDT-calibrated day of trades), or a trade CSV path (Bybit dump or bundled "
             "format).",
    ),
    start: str | None = typer.Option(None, "--from", help="Window start: ISO date/time (UTC) "
                                                            "or epoch milliseconds."),
    end: str | None = typer.Option(None, "--to", help="Window end (exclusive), same forms."),
    fill_model: str = typer.Option(
        "conservative", "--fill-model",
        help="optimistic, conservative, pessimistic or queue (validation.md).",
    ),
    queue_ahead: float = typer.Option(0.0, "--queue-ahead", min=0.0, max=MAX_AMOUNT,
                                      help="QUEUE model: base units resting ahead of each order."),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, max=MAX_LATENCY_MS,
                                   help="Order latency in ms."),
    maker_fee: Decimal | None = typer.Option(
        None, "--maker-fee", min=-MAX_FEE, max=MAX_FEE,
        help="Maker fee rate paid on every fill, e.g. 0.0002 (default: the account's last "
             "captured maker rate with --strategy or --seed-run, else 0.0002)."),
    seed_run: str | None = typer.Option(
        None, "--seed-run", help="Start from where this live run stood at --from (its newest "
                                 "engine snapshot), with its parameters, positions, wallet, "
                                 "orders and requests in flight."),
    user: str | None = typer.Option(None, "--user", help="Store the results for this user."),
    no_store: bool = typer.Option(False, "--no-store", help="Print only, store nothing."),
    balance: Decimal | None = typer.Option(None, "--balance", max=MAX_AMOUNT,
                                           help="Starting USDT balance (default 10000)."),
    symbol: str | None = typer.Option(None, "--symbol", help="Instrument symbol (default "
                                                              "BTCUSDT)."),
    tick_size: Decimal | None = typer.Option(None, "--tick-size", min=MIN_STEP, max=MAX_STEP,
                                             help="Price tick (default 0.1)."),
    qty_step: Decimal | None = typer.Option(None, "--qty-step", min=MIN_STEP, max=MAX_STEP,
                                            help="Quantity step (default 0.001)."),
    seed: int = typer.Option(1, "--seed", min=0, max=2**32 - 1,
                             help="Seed of the generated source."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Replay market data through the live bot's engine and print what it would have done.

    With --strategy, --user or --seed-run the run is stored in PostgreSQL (a runs row of
    type backtest, its simulated executions, equity curve and summary).
    """
    from contextlib import nullcontext
    from dataclasses import replace

    from rich.console import Console

    from daemons.backtest.request import BacktestRequest, prepare
    from daemons.backtest.runner import BacktestInputError
    from daemons.cli.config_args import parse_sets, read_mapping
    from daemons.cli.support import cli_errors, fail, open_database, time_ms
    from gridcore.config import ConfigError

    console = Console(stderr=as_json)
    with cli_errors():
        try:
            # A given file counts as given parameters ({}) until the options are known
            # not to conflict; only then is it read.
            request = BacktestRequest(
                parameters=None if config_file is None else {},
                overrides=parse_sets(config_set), strategy_id=strategy, seed_run=seed_run,
                user=user, source=source, symbol=symbol,
                tick_size=_positive("--tick-size", tick_size),
                qty_step=_positive("--qty-step", qty_step),
                balance=_positive("--balance", balance), fill_model=fill_model,
                latency_ms=latency_ms, queue_ahead=queue_ahead,
                maker_fee=None if maker_fee is None else _fee(maker_fee),
                start_ms=time_ms("--from", start), end_ms=time_ms("--to", end), seed=seed,
                store=not no_store)
            if config_file is not None:
                request = replace(request, parameters=read_mapping(config_file))
            db = open_database() if request.needs_database else None
            loading = nullcontext() if request.data_source == "db" else \
                Console(stderr=True).status(f"loading {request.data_source} ...")
            with loading:
                prepared = prepare(request, db)
            progress = Console(stderr=True)
            with _progress(progress, prepared.total,
                           enabled=not as_json and progress.is_terminal) as update:
                outcome = prepared.run(update)
        except UnicodeDecodeError:
            fail(f"--source {source}: not UTF-8 text")
        except OSError as error:
            fail(f"cannot read {error.filename or source}: "
                 f"{error.strerror or type(error).__name__}")
        except (BacktestInputError, ConfigError, ValueError) as error:
            fail(str(error))
    if as_json:
        typer.echo(json.dumps(outcome.summary, indent=2))
    else:
        _print_summary(console, outcome.run.spec.symbol, outcome.summary)


def _progress(console, total: int | None, *, enabled: bool):
    """A progress bar on stderr: bar, percentage and time left when the event count is
    known (file sources), a counter otherwise (the database source is read lazily).
    Nothing when stderr is not a terminal or the output is JSON for a program."""
    from contextlib import contextmanager, nullcontext

    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    if not enabled:
        return nullcontext(None)
    if total is None:
        columns = (SpinnerColumn(), TextColumn("replayed {task.completed:,} events"))
    else:
        columns = (TextColumn("replaying"), BarColumn(), TaskProgressColumn(),
                   TextColumn("{task.completed:,}/{task.total:,} events"),
                   TimeRemainingColumn())

    @contextmanager
    def bar():
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("replay", total=total)
            yield lambda done: progress.update(task, completed=done)

    return bar()


def _print_summary(console, symbol: str, summary: dict[str, object]) -> None:
    from rich.table import Table
    from rich.text import Text

    from daemons.backtest.runner import iso_ms
    from daemons.cli.support import printable

    table = Table(title=Text(f"backtest {symbol}, {summary['fill_model']} fills"),
                  show_header=False)
    for key, value in summary.items():
        is_time = key in ("first_ts", "last_ts") and isinstance(value, int)
        shown = str(iso_ms(value) if is_time else value)  # a source path is the user's text
        table.add_row(Text(key.replace("_", " ")), Text(printable(shown)))
    console.print(table)


def _positive(option: str, value: Decimal | None) -> Decimal | None:
    """A size that must be positive, if given (the option's type refused NaN, infinities
    and what is above its maximum)."""
    if value is not None and value <= 0:
        raise ValueError(f"{option}: must be > 0, got {value}")
    return value


def _fee(value: Decimal) -> Decimal:
    """A maker fee rate: a fraction (0.0002 is 0.02 %); negative is a rebate."""
    if abs(value) >= MAX_FEE:
        raise ValueError(f"--maker-fee: a rate as a fraction (0.0002 = 0.02 %), got {value}")
    return value
