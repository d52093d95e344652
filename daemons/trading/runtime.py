"""One strategy at run time: its engine, its run's records, its way out (live or shadow).

The runtime is the only place an engine is fed, so everything fed is journaled in feed
order, every intent is recorded with its trigger, and every answer the gateway gives
back (a refusal, a simulated fill) is fed like any other event. It also keeps what a
snapshot needs beyond the engine's state: the requests still in flight with the event
time each was sent at, how many market events of the current millisecond were seen, and
where the next exact cut is (:meth:`StrategyRuntime.cut_due`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from daemons.backtest.live_seed import snapshot_document
from daemons.trading.arrival import Arrival, TradeHold
from daemons.trading.market import MarketEvent
from daemons.trading.records import RunRecorder
from gridcore.engine import GridEngine
from gridcore.events import Event, OrderUpdateEvent, PositionEvent, TickerEvent
from gridcore.intents import Intent, PlaceLimitIntent
from gridcore.sim.broker import FLAT_SIDE_REFUSAL

log = logging.getLogger(__name__)

LIVE = "live"
SHADOW = "shadow"
#: Refusals in a row of this strategy's placements (for one reason) that latch it: the
#: exchange will not take its orders, and the engine would retry on every ticker.
REFUSALS_TO_LATCH = 20
#: The reason a closing order of a flat side is refused with, without being sent.
FLAT_SIDE = f"{FLAT_SIDE_REFUSAL} (refused before sending: the side is flat)"


class CapsError(ValueError):
    """A strategy's safety caps cannot be read; the message names the cap."""


@dataclass(frozen=True, slots=True)
class SafetyCaps:
    """Per-strategy limits, each off when None (``strategies.caps``)."""

    max_open_orders: int | None = None
    max_position_notional: Decimal | None = None
    max_session_loss: Decimal | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> SafetyCaps:
        unknown = set(values) - {"max_open_orders", "max_position_notional",
                                 "max_session_loss"}
        if unknown:
            raise CapsError(f"unknown cap {sorted(unknown)[0]!r}")
        orders = values.get("max_open_orders")
        if orders is not None and (isinstance(orders, bool) or not isinstance(orders, int)
                                   or not 1 <= orders <= 10_000):
            raise CapsError(f"max_open_orders: must be a whole number 1..10000, got {orders!r}")
        return cls(orders, _money(values, "max_position_notional"),
                   _money(values, "max_session_loss"))

    def to_mapping(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in (
            ("max_open_orders", self.max_open_orders),
            ("max_position_notional", self.max_position_notional),
            ("max_session_loss", self.max_session_loss)) if v is not None}


def _money(values: dict[str, Any], name: str) -> Decimal | None:
    raw = values.get(name)
    if raw is None:
        return None
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise CapsError(f"{name}: not a number: {str(raw)[:40]!r}") from None
    if not amount.is_finite() or not 0 < amount <= Decimal("1e12"):
        raise CapsError(f"{name}: must be > 0 and at most 1e12 USDT, got {str(raw)[:40]!r}")
    return amount


class Gateway(Protocol):
    """Where a runtime's intents go: the exchange (live) or a simulated account (shadow).

    ``sent_ts`` is the exchange time of the event that caused the intent, ``receipt_ns``
    when that event was received (``time.perf_counter_ns``, for the decision latency; 0
    for an intent no event caused). The answer is what the engine must be fed now.
    """

    def send(self, runtime: StrategyRuntime, intent: Intent, sent_ts: int,
             receipt_ns: int) -> list[Event]: ...


class StrategyRuntime:
    """A strategy's engine with its records and gateway; thread-confined to its worker."""

    def __init__(self, *, strategy_id: int, mode: str, engine: GridEngine,
                 recorder: RunRecorder, gateway: Gateway, caps: SafetyCaps = SafetyCaps(),
                 on_latch: Callable[[StrategyRuntime, str], None] | None = None) -> None:
        self.strategy_id = strategy_id
        self.mode = mode
        self.engine = engine
        self.recorder = recorder
        self.gateway = gateway
        self.caps = caps
        self.latched: str | None = None
        self._on_latch = on_latch
        self._sent: dict[str, tuple[int, Intent]] = {}
        self._market_ms = -1
        self._market_seen = 0
        self._fed_ms = -1
        self._trades = TradeHold()
        #: Set by the worker's timer (:meth:`want_snapshot`); taken at the next cut.
        self.snapshot_wanted = False
        self._rounds_waited = 0
        self._realised_base: dict[int, Decimal] = {}
        self._pnl: dict[int, tuple[Decimal, Decimal]] = {}
        self.decisions = 0
        self.refused_by_caps = 0
        self.refused_flat_side = 0
        self._refusals: tuple[str, int] = ("", 0)
        self.last_event_ms = 0

    def __repr__(self) -> str:
        return f"StrategyRuntime({self.strategy_id}, {self.mode}, {self.engine.symbol})"

    @property
    def symbol(self) -> str:
        return self.engine.symbol

    @property
    def run_id(self) -> Any:
        return self.recorder.run_id

    # -- feeding ---------------------------------------------------------------------------

    def on_market(self, event: MarketEvent, seen: int, receipt_ns: int, *,
                  step: bool) -> None:
        """A market event of this strategy's symbol, the ``seen``-th of its millisecond.

        A shadow strategy's trades that overtook an earlier-stamped ticker wait for it
        (:class:`~daemons.trading.arrival.TradeHold`), so its simulated account is filled in
        the exchange order its replay will use."""
        if self.mode != SHADOW:
            self._step_market(event, seen, receipt_ns, step=step)
            return
        for arrival in self._trades.admit(Arrival(event, receipt_ns)):
            self._step_in_order(arrival, step=step)

    def release_trades(self, *, overdue_only: bool = False) -> None:
        """Step a shadow strategy's held trades: every one (the run is ending), or, with
        ``overdue_only``, all once the oldest has waited too long for its ticker."""
        released = self._trades.overdue() if overdue_only else self._trades.drain()
        for arrival in released:
            self._step_in_order(arrival, step=False)

    def _step_in_order(self, arrival: Arrival, *, step: bool) -> None:
        """Step a shadow strategy's market event, counting its place in its millisecond in
        the order stepped (the feed's count follows arrival order, which the hold changed;
        a snapshot's replay skips that many events of its millisecond)."""
        ms = arrival.event.exchange_ts
        seen = self._market_seen + 1 if ms == self._market_ms else 1
        self._step_market(arrival.event, seen, arrival.receipt_ns, step=step)

    def _step_market(self, event: MarketEvent, seen: int, receipt_ns: int, *,
                     step: bool) -> None:
        """A wanted snapshot first when it is an exact cut, then the shadow broker's fills,
        then the engine (a ticker, when ``step``: the account's breaker allows trading)."""
        if self.cut_due(event.exchange_ts):
            if self.mode == SHADOW:  # what the simulated exchange answered is part of it
                for answer in self.gateway.release():  # type: ignore[attr-defined]
                    self.feed(answer, receipt_ns)
            self.try_snapshot()
        self._market_ms, self._market_seen = event.exchange_ts, seen
        if self.mode == SHADOW:
            for answer in self.gateway.on_market(event):  # type: ignore[attr-defined]
                self.feed(answer, receipt_ns)
        if step and isinstance(event, TickerEvent):
            self.feed(event, receipt_ns)

    def on_private(self, event: Event, receipt_ns: int) -> None:
        """An event of the account's private stream: a wanted snapshot first when it is an
        exact cut (an acknowledgement or a fill is often stamped later than the market the
        engine has seen: it may arrive before the trade that caused it)."""
        if self.cut_due(event.exchange_ts):
            self.try_snapshot()
        self.feed(event, receipt_ns)

    def feed(self, event: Event, receipt_ns: int) -> None:
        """Journal ``event``, step the engine, carry its intents out, feed the answers."""
        if self.latched is not None and isinstance(event, TickerEvent):
            return  # a latched strategy is not stepped until an operator clears it
        self.last_event_ms = event.exchange_ts
        self._fed_ms = max(self._fed_ms, event.exchange_ts)
        self.recorder.journal(event)
        if isinstance(event, PositionEvent):
            self._track_pnl(event)
        intents = self.engine.on_event(event)
        for intent in intents:
            self.decisions += 1
            self.recorder.decision(event, intent)
            self._carry_out(intent, event.exchange_ts, receipt_ns)
        if self.caps.max_session_loss is not None and self.latched is None:
            self._check_session_loss()

    def _carry_out(self, intent: Intent, sent_ts: int, receipt_ns: int) -> None:
        answers = self._refusal(intent, sent_ts)
        if answers is None:
            self._remember(intent, sent_ts)
            answers = self.gateway.send(self, intent, sent_ts, receipt_ns)
            if isinstance(intent, PlaceLimitIntent):
                self._count_refusals(intent, answers)
        for answer in answers:
            self.feed(answer, receipt_ns)

    def _count_refusals(self, intent: PlaceLimitIntent, answers: list[Event]) -> None:
        """Latch after :data:`REFUSALS_TO_LATCH` refusals in a row for one reason.

        A closing order refused for a side closed since the last position check does not
        count: the legacy guard judges closing orders by the size that check read (rule
        3.5), so such orders go out until the next check, which ends them by itself.
        Latching would turn that short, legacy stretch into a stopped strategy.
        """
        refused = next((a for a in answers if isinstance(a, OrderUpdateEvent)
                        and a.order_status == "Rejected"), None)
        if refused is None:
            self._refusals = ("", 0)
            return
        if intent.reduce_only and self._closed_since_check(intent.direction):
            return
        reason = refused.reject_reason[:120]
        last, count = self._refusals
        self._refusals = (reason, count + 1 if reason == last else 1)
        if self._refusals[1] >= REFUSALS_TO_LATCH and self.latched is None:
            self.latch(f"the exchange keeps refusing its orders ({reason})")

    def _closed_since_check(self, direction: str) -> bool:
        """Whether ``direction``'s position is smaller now than the last check read it."""
        engine = self.engine
        return engine.positions[direction].size < engine.check.position(direction).size

    def _refusal(self, intent: Intent, ts: int) -> list[Event] | None:
        """A refusal known without asking the exchange, answered as the exchange would
        answer it; None when the request must go out.

        A live strategy's closing order of a side the engine knows is flat is refused as
        Bybit refuses it (110017). The legacy guard sends such orders on every step until
        its next position check (rule 3.5); sent, each would spend the account's order
        budget (10 a second) and hold up the orders of every other strategy of the
        account. (A shadow strategy's simulated broker answers for itself, as in a
        replay.) Then the safety caps.
        """
        if not isinstance(intent, PlaceLimitIntent):
            return None
        if (self.mode == LIVE and intent.reduce_only
                and not self.engine.positions[intent.direction].size > 0):
            self.refused_flat_side += 1
            return [intent.refused(ts, FLAT_SIDE)]
        caps, reason = self.caps, None
        if caps.max_open_orders is not None and len(self.engine.orders.orders) > \
                caps.max_open_orders:
            reason = f"cap: more than {caps.max_open_orders} open orders"
        elif caps.max_position_notional is not None and not intent.reduce_only:
            held = self.engine.positions[intent.direction].size
            notional = (Decimal(repr(held)) + intent.qty) * intent.price
            if notional > caps.max_position_notional:
                reason = f"cap: position notional {notional:.2f} over {caps.max_position_notional}"
        if reason is None:
            return None
        self.refused_by_caps += 1
        return [intent.refused(ts, reason)]

    def _remember(self, intent: Intent, sent_ts: int) -> None:
        if isinstance(intent, PlaceLimitIntent):
            self._sent["P" + intent.client_order_id] = (sent_ts, intent)
        else:
            self._sent["C" + (intent.client_order_id or intent.order_id or "")] = (sent_ts, intent)

    # -- the session-loss cap --------------------------------------------------------------

    def _track_pnl(self, event: PositionEvent) -> None:
        if event.symbol != self.symbol:
            return
        base = self._realised_base.setdefault(event.position_idx, event.cum_realised_pnl)
        self._pnl[event.position_idx] = (event.cum_realised_pnl - base, event.unrealised_pnl)

    def session_pnl(self) -> Decimal:
        """Realised (after fees, as the exchange counts it) plus unrealised, since start."""
        return sum((r + u for r, u in self._pnl.values()), Decimal(0))

    def _check_session_loss(self) -> None:
        loss = -self.session_pnl()
        if loss > self.caps.max_session_loss:  # type: ignore[operator]
            self.latch(f"session loss {loss:.2f} USDT over the cap "
                       f"{self.caps.max_session_loss}")

    def latch(self, reason: str) -> None:
        """Stop stepping, cancel every order the engine holds, and say so.

        The cancels are an operator action, not the strategy's decisions: they are not
        recorded as engine decisions.
        """
        self.latched = reason
        log.error("strategy %s latched: %s", self.strategy_id, reason)
        for intent in self.engine.cancel_all("safety cap latched"):
            self._carry_out(intent, self.last_event_ms, 0)
        if self._on_latch is not None:
            self._on_latch(self, reason)

    # -- snapshots -------------------------------------------------------------------------

    def want_snapshot(self) -> None:
        """The worker's timer: a snapshot at the next exact cut (:meth:`cut_due`)."""
        if self.snapshot_wanted:
            self._rounds_waited += 1
        self.snapshot_wanted = True

    def cut_due(self, exchange_ts: int) -> bool:
        """Whether a wanted snapshot is taken before an event of ``exchange_ts`` is fed.

        A snapshot is stamped with the last market event's time and its replay resumes
        right after that event, so the state must hold nothing stamped later. It is taken
        only between milliseconds (before an event of a later one than the last market
        event) and only while nothing fed so far is stamped later than that event. Taken
        after a fill stamped later, it would lack an order whose fill the replay's market
        has yet to make, and the replay would never hold that order.

        A state that stays ahead of its market for a whole timer round (a private message
        stamped far ahead of the public streams) is cut anyway, with a warning: recovery
        restores from snapshots, so a strategy must not go without them.
        """
        if not (self.snapshot_wanted and exchange_ts > self._market_ms >= 0):
            return False
        if self._fed_ms <= self._market_ms:
            return True
        if self._rounds_waited == 0:
            return False
        log.warning("strategy %s: snapshot cut inexactly: its state holds events stamped up"
                    " to %d ms, its market is at %d ms", self.strategy_id, self._fed_ms,
                    self._market_ms)
        return True

    def try_snapshot(self) -> None:
        """:meth:`snapshot`, or a warning: the database may be down, the next one will do."""
        try:
            self.snapshot()
        except Exception as e:
            log.warning("snapshot of strategy %s skipped (%s)", self.strategy_id,
                        type(e).__name__)

    def snapshot(self) -> None:
        """Store the engine's state with its replay cut and requests in flight."""
        self.snapshot_wanted, self._rounds_waited = False, 0
        in_flight = [(ts, intent) for key, (ts, intent) in self._sent.items()
                     if self._still_in_flight(key, intent)]
        self._sent = {("P" if isinstance(i, PlaceLimitIntent) else "C") +
                      (i.client_order_id or getattr(i, "order_id", "") or ""): (ts, i)
                      for ts, i in in_flight}
        document = snapshot_document(self.engine.save_state(), events_at_ts=self._market_seen,
                                     in_flight=in_flight)
        self.recorder.snapshot(max(self._market_ms, 0), document)

    def _still_in_flight(self, key: str, intent: Intent) -> bool:
        orders = self.engine.orders.orders
        if isinstance(intent, PlaceLimitIntent):
            held = orders.get("L:" + intent.client_order_id)
            return held is not None and not held.acknowledged
        held = orders.get("L:" + intent.client_order_id) if intent.client_order_id else \
            orders.get("O:" + (intent.order_id or ""))
        return held is not None and held.cancel_pending


def gone(symbol: str, order_link_id: str, order_id: str, ts: int) -> OrderUpdateEvent:
    """The order update that tells the engine an order it holds no longer exists, when the
    exchange cannot describe it any more: the engine only needs to stop holding it."""
    return OrderUpdateEvent(symbol=symbol, exchange_ts=ts, local_ts=ts, order_id=order_id,
                            order_link_id=order_link_id, side="Buy", price=Decimal(0),
                            qty=Decimal(0), order_status="Cancelled")
