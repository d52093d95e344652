"""`gridbot backtest`: replay market data through gridcore with a chosen fill model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import typer

#: File sources that hold BTCUSDT data only (the bundled bars, the BTC-calibrated day).
BTC_ONLY_SOURCES = ("bundled", "generated")
DEFAULT_SYMBOL = "BTCUSDT"
#: Bounds of the numeric options: beyond them a value is a typo, not a scenario.
MAX_ID = 2**63 - 1  # PostgreSQL bigint
MAX_AMOUNT = 10**12  # USDT of a balance, base units queued ahead
MAX_STEP = 10**6  # a price tick or quantity step
MAX_FEE = Decimal("0.01")  # a maker fee rate (1 %), either sign
MAX_LATENCY_MS = 3_600_000
MAX_TIME_MS = int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)


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
    tick_size: Decimal | None = typer.Option(None, "--tick-size", max=MAX_STEP,
                                             help="Price tick (default 0.1)."),
    qty_step: Decimal | None = typer.Option(None, "--qty-step", max=MAX_STEP,
                                            help="Quantity step (default 0.001)."),
    seed: int = typer.Option(1, "--seed", min=0, max=2**32 - 1,
                             help="Seed of the generated source."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Replay market data through the live bot's engine and print what it would have done.

    With --strategy, --user or --seed-run the run is stored in PostgreSQL (a runs row of
    type backtest, its simulated executions, equity curve and summary).
    """
    from rich.console import Console

    from daemons.backtest.runner import BacktestInputError, BacktestSpec
    from daemons.cli.config_args import load_config
    from daemons.cli.support import cli_errors, fail
    from daemons.db.strategies import check_symbol
    from gridcore.config import ConfigError

    console = Console(stderr=as_json)
    with cli_errors():
        try:
            _refuse_conflicts(config_file=config_file, config_set=config_set,
                              strategy=strategy, seed_run=seed_run, symbol=symbol,
                              tick_size=tick_size, qty_step=qty_step, balance=balance)
            request = _Request(source=_default_source(strategy, seed_run)
                               if source is None else source,
                               strategy=strategy, seed_run=seed_run, user=user,
                               store=not no_store, seed=seed, fee_given=maker_fee is not None)
            if symbol is not None:
                check_symbol(symbol)
            base = request.resolve_owner(DEFAULT_SYMBOL if symbol is None else symbol)
            request.check_source_symbol(base.symbol)
            spec = BacktestSpec(
                config=load_config(config_file, config_set, base=base.config),
                symbol=base.symbol, tick_size=_step("--tick-size", tick_size, "0.1"),
                qty_step=_step("--qty-step", qty_step, "0.001"), fill_model=fill_model,
                latency_ms=latency_ms, queue_ahead=queue_ahead,
                **({"maker_fee_rate": _fee(maker_fee)} if maker_fee is not None else {}),
                starting_balance=_step("--balance", balance, "10000"),
                start_ms=_time_ms("--from", start), end_ms=_time_ms("--to", end),
            )
            summary = request.run(spec, Console(stderr=True), show_progress=not as_json)
        except UnicodeDecodeError:
            fail(f"--source {source}: not UTF-8 text")
        except OSError as error:
            fail(f"cannot read {error.filename or source}: "
                 f"{error.strerror or type(error).__name__}")
        except (BacktestInputError, ConfigError, ValueError) as error:
            fail(str(error))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(console, request.symbol or spec.symbol, summary)


def _default_source(strategy: int | None, seed_run: str | None) -> str:
    """A stored strategy or a live run trades what was captured, not the bundled BTC bars."""
    return "db" if strategy is not None or seed_run is not None else "bundled"


def _refuse_conflicts(*, config_file: Path | None, config_set: list[str], strategy: int | None,
                      seed_run: str | None, symbol: str | None, tick_size: Decimal | None,
                      qty_step: Decimal | None, balance: Decimal | None) -> None:
    """Options that would silently fight each other are refused, one line each.

    A seeded run continues the live engine: its snapshot fixes the parameters, instrument
    and wallet. A stored strategy fixes its symbol; its parameters may be overridden
    one by one with --set, but not replaced wholesale by a --config file.
    """
    from daemons.backtest.runner import BacktestInputError

    if seed_run is not None:
        given = {"--config": config_file, "--set": config_set or None, "--strategy": strategy,
                 "--symbol": symbol, "--tick-size": tick_size, "--qty-step": qty_step,
                 "--balance": balance}
        for option, value in given.items():
            if value is not None:
                raise BacktestInputError(
                    f"--seed-run with {option}: a seeded run continues the live engine with "
                    "its own parameters, instrument and wallet; drop " + option)
    if strategy is not None and config_file is not None:
        raise BacktestInputError("--strategy with --config: choose one (change a stored "
                                 "strategy's parameters with --set KEY=VALUE)")
    if strategy is not None and symbol is not None:
        raise BacktestInputError("--strategy with --symbol: the stored strategy fixes the symbol")


class _Request:
    """Resolves where data comes from and whose run it is, then runs and stores."""

    def __init__(self, *, source: str, strategy: int | None, seed_run: str | None,
                 user: str | None, store: bool, seed: int, fee_given: bool) -> None:
        self.source, self.strategy_id, self.seed_run = source, strategy, seed_run
        self.user, self.store, self.seed, self.fee_given = user, store, seed, fee_given
        self.db = None
        self.owner = None
        self.account_id = None
        self.live_seed = None
        self.symbol: str | None = None

    def resolve_owner(self, symbol: str) -> _Base:
        """Open the database if needed; find the owner, config and symbol to use."""
        from daemons.cli.support import open_database
        from daemons.db import strategies, users

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
                self._same_owner(found.user_id, f"strategy {self.strategy_id}")
                self.owner, self.account_id = found.user_id, found.account_id
                base = _Base(found.config, found.symbol)
            if self.seed_run is not None:
                row = conn.execute("SELECT user_id FROM runs WHERE run_id::text = %s",
                                   [self.seed_run]).fetchone()
                if row is None:
                    raise ValueError(f"--seed-run: unknown run {self.seed_run}")
                self._same_owner(row[0], f"run {self.seed_run}")
                self.owner = row[0]
        return base

    def _same_owner(self, owner_id, what: str) -> None:
        """--user names whose results these are: a strategy or run of another user is
        refused (its data, wallet and fee are not theirs), as ``accounts`` refuses."""
        from daemons.backtest.runner import BacktestInputError

        if self.owner is not None and owner_id != self.owner:
            raise BacktestInputError(f"{what} does not belong to user {self.user!r}")

    def check_source_symbol(self, symbol: str) -> None:
        """The bundled and generated sources are BTCUSDT prices: never label them as another
        symbol (a seeded run's symbol is checked once its snapshot is read)."""
        from daemons.backtest.runner import BacktestInputError

        if self.source in BTC_ONLY_SOURCES and symbol != DEFAULT_SYMBOL:
            raise BacktestInputError(
                f"--source {self.source} holds {DEFAULT_SYMBOL} prices, not {symbol}: use "
                f"--source db (captured {symbol} data) or a trade file of {symbol}")

    def run(self, spec, console, *, show_progress: bool) -> dict[str, object]:
        from daemons.backtest.runner import event_total, load_file_source, run_backtest
        from daemons.backtest.store import store_backtest

        if self.seed_run is not None:
            spec = self._seeded(spec)
        spec = self._account_fee(spec)
        if self.source == "db":
            tapes, total = self._db_tapes(spec), None
        else:
            with console.status(f"loading {self.source} ..."):
                tapes = load_file_source(self.source, spec.symbol, seed=self.seed)
            total = event_total(spec, tapes, self.live_seed)
        with _progress(console, total, enabled=show_progress and console.is_terminal) as update:
            run = run_backtest(spec, tapes, seed=self.live_seed, progress=update)
        summary = run.summary()
        if self.owner is not None and self.store:
            summary["run_id"] = str(store_backtest(
                self.db, self.owner, run, source=self.source, account_id=self.account_id,
                strategy_id=self.strategy_id,
                seeded_from=self.live_seed.run_id if self.live_seed else None))
        return summary

    def _account_fee(self, spec):
        """A stored strategy's or a live run's account pays its own maker fee: the rate its
        newest captured maker execution shows, unless --maker-fee was given."""
        from dataclasses import replace

        from daemons.backtest.live_seed import captured_maker_fee

        if self.account_id is None or self.fee_given:
            return spec
        with self.db.unit_of_work(self.owner) as conn:
            return replace(spec, maker_fee_rate=captured_maker_fee(
                conn, self.account_id, spec.symbol, spec.maker_fee_rate))

    def _seeded(self, spec):
        """Read the live run's snapshot; the spec takes its parameters, instrument, wallet
        and start."""
        from daemons.backtest.live_seed import load_live_seed
        from daemons.backtest.runner import BacktestInputError, seeded_spec

        if spec.start_ms is None:
            raise BacktestInputError("--seed-run needs --from (the moment to start from)")
        with self.db.unit_of_work(self.owner) as conn:
            self.live_seed = load_live_seed(conn, _uuid(self.seed_run), spec.start_ms)
        self.account_id = self.live_seed.account_id
        self.strategy_id = self.live_seed.strategy_id
        self.symbol = self.live_seed.symbol
        self.check_source_symbol(self.live_seed.symbol)
        return seeded_spec(spec, self.live_seed)

    def _db_tapes(self, spec):
        from daemons.backtest.db_source import captured_span, db_tapes
        from daemons.backtest.runner import BacktestInputError

        span = captured_span(self.db, spec.symbol)
        if span is None:
            raise BacktestInputError(f"source: no captured trades of {spec.symbol}")
        start = spec.start_ms if spec.start_ms is not None else span[0]
        stop = spec.end_ms if spec.end_ms is not None else span[1] + 1
        return db_tapes(self.db, spec.symbol, start, stop)


class _Base:
    """Parameters a stored strategy provides (none for an ad-hoc backtest)."""

    def __init__(self, config, symbol: str) -> None:
        self.config, self.symbol = config, symbol


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


def _step(option: str, value: Decimal | None, default: str) -> Decimal:
    """A size that must be positive (the option's type refused NaN, infinities and what
    is above its maximum)."""
    value = Decimal(default) if value is None else value
    if value <= 0:
        raise ValueError(f"{option}: must be > 0, got {value}")
    return value


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ValueError(f"--seed-run: not a run id: {text!r}") from None


def _fee(value: Decimal) -> Decimal:
    """A maker fee rate: a fraction (0.0002 is 0.02 %); negative is a rebate."""
    if abs(value) >= MAX_FEE:
        raise ValueError(f"--maker-fee: a rate as a fraction (0.0002 = 0.02 %), got {value}")
    return value


def _time_ms(option: str, text: str | None) -> int | None:
    """ISO date or date-time (UTC unless an offset is given), or epoch milliseconds; from
    1970 to the end of year 9999 (what a timestamp of the data can be)."""
    if text is None:
        return None
    if text.isascii() and text.isdigit():
        moment_ms = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{option}: expected an ISO date/time or epoch ms, got {text!r}"
                             ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment_ms = int(moment.timestamp() * 1000)
    if not 0 <= moment_ms <= MAX_TIME_MS:
        raise ValueError(f"{option}: {text!r} is not between 1970 and 9999")
    return moment_ms
