"""One backtest as asked for, resolved, run and stored: what ``gridbot backtest``, the
Dagster assets and the comparison all call, so a backtest means the same thing in each.

A :class:`BacktestRequest` names the parameters (a whole set, or a stored strategy's with
overrides, or a live run's), the market data (captured in the database, the bundled
month, a generated day or a trade file), the window and whose run it is. :func:`prepare`
resolves it: the owner (``user``, the strategy's or the run's), the seeded run's
snapshot, the account's captured maker fee, the data; :meth:`Prepared.run` replays and,
when there is an owner and ``store``, stores the run for them (``daemons.backtest.store``).
Requests that would silently fight each other are refused (:class:`BacktestInputError`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

from daemons.backtest.db_source import captured_span, db_tapes
from daemons.backtest.live_seed import LiveSeed, captured_maker_fee, load_live_seed
from daemons.backtest.runner import (
    BacktestInputError,
    BacktestRun,
    BacktestSpec,
    event_total,
    load_file_source,
    run_backtest,
    seeded_spec,
)
from daemons.backtest.store import store_backtest
from daemons.db import runs, strategies, users
from daemons.db.session import Database
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.sim.tape import MarketTape

#: File sources that hold BTCUSDT data only (the bundled bars, the BTC-calibrated day).
BTC_ONLY_SOURCES = ("bundled", "generated")
DEFAULT_SYMBOL = "BTCUSDT"
#: Order size when neither the parameters nor the overrides give one.
DEFAULT_AMOUNT = "x0.001"


@dataclass(frozen=True)
class BacktestRequest:
    """What to replay and whose run it is; None means "not given" (see the defaults).

    ``parameters`` is a whole parameter set (as a file holds it); ``overrides`` win over
    it or over the stored strategy's. ``source`` defaults to ``db`` with a strategy or a
    seeded run (they trade what was captured), else ``bundled``. ``seed_run`` is a live or
    shadow run to continue from its newest engine snapshot at ``start_ms``. ``seed``
    seeds the generated source.
    """

    parameters: Mapping[str, Any] | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    strategy_id: int | None = None
    seed_run: str | None = None
    user: str | None = None
    source: str | None = None
    symbol: str | None = None
    tick_size: Decimal | None = None
    qty_step: Decimal | None = None
    balance: Decimal | None = None
    fill_model: str = "conservative"
    latency_ms: int = 0
    queue_ahead: float = 0.0
    maker_fee: Decimal | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    seed: int = 1
    store: bool = True

    def __post_init__(self) -> None:
        _refuse_conflicts(self)

    @property
    def data_source(self) -> str:
        if self.source is not None:
            return self.source
        return "db" if self.strategy_id is not None or self.seed_run is not None else "bundled"

    @property
    def needs_database(self) -> bool:
        """Captured data, a stored strategy or run, or an owner: the database is needed."""
        return (self.data_source == "db" or self.strategy_id is not None
                or self.seed_run is not None or self.user is not None)


def _refuse_conflicts(request: BacktestRequest) -> None:
    """Options that would silently fight each other are refused, one line each.

    A seeded run continues the live engine: its snapshot fixes the parameters, instrument
    and wallet. A stored strategy fixes its symbol; its parameters may be overridden one
    by one, but not replaced wholesale by a parameter file.
    """
    if request.seed_run is not None:
        given = {"--config": request.parameters, "--set": request.overrides or None,
                 "--strategy": request.strategy_id, "--symbol": request.symbol,
                 "--tick-size": request.tick_size, "--qty-step": request.qty_step,
                 "--balance": request.balance}
        for option, value in given.items():
            if value is not None:
                raise BacktestInputError(
                    f"--seed-run with {option}: a seeded run continues the live engine with "
                    "its own parameters, instrument and wallet; drop " + option)
    if request.strategy_id is not None and request.parameters is not None:
        raise BacktestInputError("--strategy with --config: choose one (change a stored "
                                 "strategy's parameters with --set KEY=VALUE)")
    if request.strategy_id is not None and request.symbol is not None:
        raise BacktestInputError("--strategy with --symbol: the stored strategy fixes the symbol")


@dataclass(frozen=True)
class Outcome:
    """A finished backtest: the run, its summary, and its id if it was stored."""

    run: BacktestRun
    summary: dict[str, object]
    run_id: UUID | None


@dataclass
class Prepared:
    """A resolved request, ready to replay: :attr:`total` events when known (file sources;
    the database source is read lazily)."""

    spec: BacktestSpec
    source: str
    tapes: MarketTape | Iterable[MarketTape]
    total: int | None
    db: Database | None = None
    owner: UUID | None = None
    account_id: UUID | None = None
    strategy_id: int | None = None
    live_seed: LiveSeed | None = None
    store: bool = True

    def run(self, progress: Callable[[int], None] | None = None,
            wrap_engine: Callable[[GridEngine], Any] | None = None) -> Outcome:
        """Replay; store the run for its owner (if it has one and storing was asked).

        ``wrap_engine``: see :func:`~daemons.backtest.runner.run_backtest`.
        """
        run = run_backtest(self.spec, self.tapes, seed=self.live_seed, progress=progress,
                           wrap_engine=wrap_engine)
        summary = run.summary()
        run_id = None
        if self.db is not None and self.owner is not None and self.store:
            run_id = store_backtest(
                self.db, self.owner, run, source=self.source, account_id=self.account_id,
                strategy_id=self.strategy_id,
                seeded_from=self.live_seed.run_id if self.live_seed else None)
            summary["run_id"] = str(run_id)
        return Outcome(run, summary, run_id)


def run_request(request: BacktestRequest, db: Database | None,
                progress: Callable[[int], None] | None = None) -> Outcome:
    """Resolve, replay and store ``request`` (see the module docstring)."""
    return prepare(request, db).run(progress)


def prepare(request: BacktestRequest, db: Database | None) -> Prepared:
    """Resolve owner, parameters, seeded run, account fee and market data of ``request``.

    ``db`` may be None only for a request that does not need it
    (:attr:`BacktestRequest.needs_database`).
    """
    if request.symbol is not None:
        strategies.check_symbol(request.symbol)
    if request.needs_database and db is None:
        raise ValueError("this backtest reads the database: pass one")
    source = request.data_source
    resolved = _Resolved(request, db)
    _check_source_symbol(source, resolved.symbol)
    spec = BacktestSpec(
        config=GridConfig.from_mapping(
            request.parameters if request.parameters is not None else resolved.parameters,
            request.overrides),
        symbol=resolved.symbol, tick_size=_or(request.tick_size, "0.1"),
        qty_step=_or(request.qty_step, "0.001"), fill_model=request.fill_model,
        latency_ms=request.latency_ms, queue_ahead=request.queue_ahead,
        **({"maker_fee_rate": request.maker_fee} if request.maker_fee is not None else {}),
        starting_balance=_or(request.balance, "10000"),
        start_ms=request.start_ms, end_ms=request.end_ms)
    live_seed = None
    if request.seed_run is not None:  # the database and the run's owner are resolved
        live_seed = _seed(db, resolved.owner, request.seed_run, spec.start_ms)
        _check_source_symbol(source, live_seed.symbol)
        spec = seeded_spec(spec, live_seed)
        resolved.account_id, resolved.strategy_id = live_seed.account_id, live_seed.strategy_id
    if resolved.account_id is not None and request.maker_fee is None:
        with db.unit_of_work(resolved.owner) as conn:
            spec = replace(spec, maker_fee_rate=captured_maker_fee(
                conn, resolved.account_id, spec.symbol, spec.maker_fee_rate))
    tapes: MarketTape | Iterable[MarketTape]
    if source == "db":
        tapes, total = _db_tapes(db, spec), None
    else:
        tapes = load_file_source(source, spec.symbol, seed=request.seed)
        total = event_total(spec, tapes, live_seed)
    return Prepared(spec, source, tapes, total, db, resolved.owner, resolved.account_id,
                    resolved.strategy_id, live_seed, request.store)


class _Resolved:
    """Whose run it is, and what a stored strategy or run provides."""

    def __init__(self, request: BacktestRequest, db: Database | None) -> None:
        self.request = request
        self.owner: UUID | None = None
        self.account_id: UUID | None = None
        self.strategy_id: int | None = request.strategy_id
        self.symbol = DEFAULT_SYMBOL if request.symbol is None else request.symbol
        self.parameters: Mapping[str, Any] = {"amount": DEFAULT_AMOUNT}
        if db is None:
            return
        with db.admin() as conn:
            if request.user is not None:
                self.owner = users.get_user(conn, request.user).user_id
            if request.strategy_id is not None:
                found = strategies.get_strategy(conn, request.strategy_id)
                self._same_owner(found.user_id, f"strategy {request.strategy_id}")
                self.owner, self.account_id = found.user_id, found.account_id
                self.parameters, self.symbol = found.config_json, found.symbol
            if request.seed_run is not None:
                owner = runs.owner_of(conn, request.seed_run)
                if owner is None:
                    raise ValueError(f"--seed-run: unknown run {request.seed_run}")
                self._same_owner(owner, f"run {request.seed_run}")
                self.owner = owner

    def _same_owner(self, owner_id: UUID, what: str) -> None:
        """``user`` names whose results these are: a strategy or run of another user is
        refused (its data, wallet and fee are not theirs), as ``accounts`` refuses."""
        if self.owner is not None and owner_id != self.owner:
            raise BacktestInputError(f"{what} does not belong to user {self.request.user!r}")


def _check_source_symbol(source: str, symbol: str) -> None:
    """The bundled and generated sources are BTCUSDT prices: never label them as another
    symbol (a seeded run's symbol is checked once its snapshot is read)."""
    if source in BTC_ONLY_SOURCES and symbol != DEFAULT_SYMBOL:
        raise BacktestInputError(
            f"--source {source} holds {DEFAULT_SYMBOL} prices, not {symbol}: use "
            f"--source db (captured {symbol} data) or a trade file of {symbol}")


def _seed(db: Database, owner: UUID, seed_run: str, start_ms: int | None) -> LiveSeed:
    """The live run's snapshot at ``start_ms``, read in its owner's unit of work."""
    if start_ms is None:
        raise BacktestInputError("--seed-run needs --from (the moment to start from)")
    try:
        run_id = UUID(seed_run)
    except ValueError:
        raise ValueError(f"--seed-run: not a run id: {seed_run!r}") from None
    with db.unit_of_work(owner) as conn:
        return load_live_seed(conn, run_id, start_ms)


def _db_tapes(db: Database, spec: BacktestSpec) -> Iterable[MarketTape]:
    span = captured_span(db, spec.symbol)
    if span is None:
        raise BacktestInputError(f"source: no captured trades of {spec.symbol}")
    start = spec.start_ms if spec.start_ms is not None else span[0]
    stop = spec.end_ms if spec.end_ms is not None else span[1] + 1
    return db_tapes(db, spec.symbol, start, stop)


def _or(value: Decimal | None, default: str) -> Decimal:
    return Decimal(default) if value is None else value
