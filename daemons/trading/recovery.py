"""Crash-only start: read the exchange, restore every engine, and only then trade.

Starting and recovering are one path. For each account the worker reads, by REST:

1. the instruments of its symbols (tick size, quantity step, minimum quantity);
2. every open order, every position and the wallet;

and fails closed if any of these cannot be read (it places nothing and says why). Then,
per strategy, it restores the engine from the newest snapshot of the strategy's last run
(or builds a new one), and tells it what the exchange says now: the orders it held that
are gone (with their real final state), the open orders of its symbol, the executions
since the snapshot (a new engine gets the newest full fills, as the legacy bot read its
last fill at start), its positions and the wallet. Client ids used after the snapshot are
on the exchange, so the engine's sequence moves past every one of them: a restart never
sends an id twice and never leaves an open order the engine does not know about (every
open limit order of the symbol is part of the grid, as in the legacy bot).

A strategy that cannot start (a symbol the exchange does not list, a configuration
gridcore refuses, an amount below the instrument's minimum) gets its own error and the
account's other strategies go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from daemons.bybit import parsing
from daemons.bybit.errors import BybitError
from daemons.bybit.parsing import ParseError
from daemons.bybit.rest import BybitRest
from daemons.db.session import Database
from daemons.db.targets import AccountTarget, StrategyTarget
from daemons.db.times import EPOCH_MS_SQL
from daemons.trading.config import WorkerConfig
from daemons.trading.gateways import ShadowGateway
from daemons.trading.records import RowSink, RunRecorder
from daemons.trading.runtime import (
    LIVE,
    SHADOW,
    CapsError,
    Gateway,
    SafetyCaps,
    StrategyRuntime,
    gone,
)
from gridcore import order_ids
from gridcore.config import ConfigError, GridConfig
from gridcore.engine import GridEngine
from gridcore.events import Event, ExecutionEvent, OrderUpdateEvent


class Host(Protocol):
    """What recovery needs of the account's worker."""

    account: AccountTarget
    rest: BybitRest
    db: Database
    sink: RowSink
    config: WorkerConfig
    gateway: Gateway
    runtimes: dict[int, StrategyRuntime]
    strategy_errors: dict[int, str]
    on_latch: Callable[[StrategyRuntime, str], None]

    def feed_recovered(self, runtime: StrategyRuntime, events: list[Event]) -> None: ...

log = logging.getLogger(__name__)

#: Full fills a new engine is told about (the latch keeps four; the newest sets the price).
NEW_ENGINE_FILLS = 4


class RecoveryError(Exception):
    """The exchange could not be read: the account places nothing until it can."""


class StrategyError(Exception):
    """This strategy cannot start; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    status: str


@dataclass(slots=True)
class ExchangeState:
    """What the exchange said at start, parsed."""

    instruments: dict[str, Instrument]
    open_orders: list[OrderUpdateEvent]
    positions: list[Event]
    wallet: list[Event]
    read_ms: int


def recover(worker: Host) -> list[StrategyRuntime]:
    """Read the exchange and start every strategy of ``worker``'s account that can start."""
    state = read_exchange(worker)
    runtimes = []
    worker.strategy_errors.clear()
    for spec in worker.account.strategies:
        try:
            runtimes.append(start_strategy(worker, spec, state))
        except StrategyError as e:
            worker.strategy_errors[spec.strategy_id] = str(e)
            log.error("%s: strategy %s does not start: %s", worker.account.name,
                      spec.strategy_id, e)
    return runtimes


def catch_up(worker: Host, since_ms: int) -> None:
    """After a private stream outage: tell every live engine what it missed since
    ``since_ms`` (orders gone or changed, executions, positions, wallet), as at start."""
    state = read_exchange(worker)
    for runtime in worker.runtimes.values():
        if runtime.mode != SHADOW:
            worker.feed_recovered(runtime, _catch_up_events(worker, runtime, state, since_ms))


def read_exchange(worker: Host) -> ExchangeState:
    rest = worker.rest
    now = time.time_ns() // 1_000_000
    try:
        instruments = {}
        for symbol in {s.symbol for s in worker.account.strategies}:
            rows = rest.instruments(symbol).rows
            for row in rows:
                instrument = _instrument(row)
                instruments[instrument.symbol] = instrument
        orders = [parsing.order(row, now) for row in rest.open_orders()]
        positions: list[Event] = []
        for symbol in sorted(instruments):  # by symbol: by settle coin, flat sides are left out
            page = rest.positions(symbol)
            positions += [parsing.position(row, now, page.time_ms) for row in page.rows
                          if parsing.other_category(row, page.category or "linear",
                                                    "position") is None]
        page = rest.wallet()
        wallet: list[Event] = [parsing.wallet(row, page.time_ms, now) for row in page.rows]
    except BybitError as e:
        raise RecoveryError(f"cannot read the exchange ({e})") from None
    except (ParseError, KeyError, TypeError, ValueError) as e:
        raise RecoveryError(f"cannot understand the exchange's answer ({e})") from None
    return ExchangeState(instruments, [o for o in orders if o.is_plain_limit], positions,
                         wallet, now)


def _instrument(row: Any) -> Instrument:
    try:
        return Instrument(str(row["symbol"]), Decimal(row["priceFilter"]["tickSize"]),
                          Decimal(row["lotSizeFilter"]["qtyStep"]),
                          Decimal(row["lotSizeFilter"]["minOrderQty"]), str(row["status"]))
    except (KeyError, TypeError, ArithmeticError) as e:
        raise ParseError("instrument", f"unreadable ({type(e).__name__})") from None


def start_strategy(worker: Host, spec: StrategyTarget,
                   state: ExchangeState) -> StrategyRuntime:
    """Restore (or build) one strategy's engine, open its run, bring it up to date."""
    try:
        config = GridConfig.from_mapping(spec.config)
    except ConfigError as e:
        raise StrategyError(f"configuration refused: {e}") from None
    instrument = state.instruments.get(spec.symbol)
    if instrument is None or instrument.status != "Trading":
        raise StrategyError(f"symbol {spec.symbol} is not listed by the exchange")
    amount = config.parsed_amount
    if amount.fixed_qty is not None and Decimal(repr(amount.fixed_qty)) < instrument.min_qty:
        raise StrategyError(f"amount {amount.fixed_qty} is below {spec.symbol}'s minimum order"
                            f" quantity {instrument.min_qty}")
    try:
        caps = SafetyCaps.from_mapping(spec.caps)
    except CapsError as e:
        raise StrategyError(f"safety caps refused: {e}") from None
    mode = SHADOW if (spec.mode == SHADOW or worker.config.shadow_all) else LIVE
    account = worker.account
    engine, restored_from, snapshot_ms = _engine(worker, spec, config, instrument, mode)
    recorder = RunRecorder.start(
        worker.db, worker.sink, user_id=account.user_id, account_id=account.account_id,
        strategy_id=spec.strategy_id, symbol=spec.symbol, run_type=mode,
        config_snapshot={"config": config.to_mapping(), "symbol": spec.symbol,
                         "tick_size": str(instrument.tick_size),
                         "qty_step": str(instrument.qty_step), "mode": mode,
                         "caps": caps.to_mapping(), "restored_from": restored_from})
    if mode == SHADOW:
        gateway: Any = ShadowGateway(spec.symbol, worker.config.shadow_fill_model,
                                     _balance(state), sink=worker.sink,
                                     user_id=account.user_id, run_id=recorder.run_id)
    else:
        gateway = worker.gateway
    runtime = StrategyRuntime(strategy_id=spec.strategy_id, mode=mode, engine=engine,
                              recorder=recorder, gateway=gateway, caps=caps,
                              on_latch=worker.on_latch)
    if spec.latched:
        runtime.latched = spec.latched
    if mode == SHADOW:
        worker.feed_recovered(runtime, gateway.start(state.read_ms))
    else:
        worker.feed_recovered(runtime, _catch_up_events(worker, runtime, state, snapshot_ms))
    runtime.snapshot()
    return runtime


def _engine(worker: Host, spec: StrategyTarget, config: GridConfig,
            instrument: Instrument, mode: str) -> tuple[GridEngine, str | None, int | None]:
    """The engine restored from the strategy's newest snapshot (same parameters and
    instrument, same mode), or a new one; the run and the time (ms) it was restored from."""
    fresh = GridEngine(config, instrument.tick_size, instrument.qty_step,
                       str(spec.strategy_id), symbol=spec.symbol)
    if mode == SHADOW:
        return fresh, None, None  # a simulated account starts afresh (docs/trading.md)
    with worker.db.unit_of_work(worker.account.user_id) as conn:
        row = conn.execute(
            f"SELECT s.run_id, s.state, {EPOCH_MS_SQL.format('s.exchange_ts')}"
            " FROM engine_snapshots s JOIN runs r USING (run_id)"
            " WHERE r.strategy_id = %s AND r.run_type = %s"
            " ORDER BY r.start_ts DESC, s.exchange_ts DESC LIMIT 1",
            [spec.strategy_id, mode]).fetchone()
    if row is None:
        return fresh, None, None
    run_id, document, snapshot_ms = row
    state = {k: v for k, v in document.items() if k != "seed"}
    try:
        engine = GridEngine.restore(state)
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        log.warning("strategy %s: snapshot of run %s not usable (%s); starting afresh",
                    spec.strategy_id, run_id, e)
        return fresh, None, None
    if (engine.config != config or engine.symbol != spec.symbol
            or Decimal(repr(engine.tick_size)) != instrument.tick_size
            or Decimal(repr(engine.qty_step)) != instrument.qty_step):
        log.info("strategy %s: parameters changed since run %s; starting afresh",
                 spec.strategy_id, run_id)
        return fresh, None, None
    engine.check_positions_at_next_step()  # as a restarted legacy bot (docs/trading.md)
    return engine, str(run_id), int(snapshot_ms)


def _balance(state: ExchangeState) -> Decimal:
    for event in state.wallet:
        return event.sizing_balance  # type: ignore[attr-defined]
    return Decimal(0)


def _catch_up_events(worker: Host, runtime: StrategyRuntime, state: ExchangeState,
                     snapshot_ms: int | None) -> list[Event]:
    """The events that bring a (restored or new) engine to what the exchange says now."""
    engine, symbol, rest = runtime.engine, runtime.symbol, worker.rest
    events: list[Event] = []
    open_here = [o for o in state.open_orders if o.symbol == symbol]
    open_keys = {("L:" + o.order_link_id) if o.order_link_id else ("O:" + o.order_id)
                 for o in open_here}
    try:
        for key, held in list(engine.orders.orders.items()):
            if key in open_keys:
                continue
            row = rest.find_order(symbol, order_link_id=held.order_link_id or None,
                                  order_id=None if held.order_link_id else held.order_id)
            events.append(parsing.order(row, state.read_ms) if row is not None
                          else gone(symbol, held.order_link_id, held.order_id, state.read_ms))
        events.extend(sorted(open_here, key=lambda o: o.exchange_ts))
        events.extend(_executions(worker, symbol, state.read_ms, snapshot_ms))
        recent = [parsing.order(row, state.read_ms)
                  for row in next(iter(rest.order_history(symbol, max_pages=1))).rows]
    except BybitError as e:
        raise RecoveryError(f"cannot read the exchange ({e})") from None
    except ParseError as e:
        raise RecoveryError(f"cannot understand the exchange's answer ({e})") from None
    events.extend(p for p in state.positions if p.symbol == symbol)
    events.extend(state.wallet)
    engine.skip_sequence_to(_next_sequence(runtime, [*open_here, *events, *recent]))
    return events


def _executions(worker: Host, symbol: str, now: int,
                snapshot_ms: int | None) -> list[ExecutionEvent]:
    """Trades since the snapshot (a restored engine), or the newest few full fills (a new
    one, as the legacy bot read its last fill at start); oldest first."""
    start = max(0, now - worker.config.lookback_ms)
    if snapshot_ms is not None:
        start = max(start, snapshot_ms)
    found: list[ExecutionEvent] = []
    for page in worker.rest.executions(start, now, symbol=symbol):
        for row in page.rows:
            execution = parsing.execution(row, now)
            if execution.exec_type == "Trade":
                found.append(execution)
        if snapshot_ms is None and sum(e.is_full_fill for e in found) >= NEW_ENGINE_FILLS:
            break
    found.sort(key=lambda e: (e.exchange_ts, e.seq))
    if snapshot_ms is None:
        return [e for e in found if e.is_full_fill][-NEW_ENGINE_FILLS:]
    return found


def _next_sequence(runtime: StrategyRuntime, events: list[Event]) -> int:
    """One past every client id sequence of this strategy the exchange has seen."""
    highest = -1
    for event in events:
        link = getattr(event, "order_link_id", "")
        key = order_ids.decode(link) if link else None
        if key is not None and key.strategy_id == str(runtime.strategy_id):
            highest = max(highest, key.sequence)
    return highest + 1
