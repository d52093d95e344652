"""SimBroker: carries out engine intents in a simulated hedge-mode USDT-perpetual account.

It answers exactly as the exchange's streams would (order updates, executions, position
and wallet events), so the engine cannot tell a replay from live trading. When an order
fills is the fill model's business; the broker does the bookkeeping: maker fees, hedge
positions, realised PnL, funding, wallet balance.

Latency: every request (place or cancel) reaches the matching engine ``latency_ms`` after
the decision, and its acknowledgement reaches the engine at that moment. An order can
fill only from then on; a cancelled order can still fill until its cancel lands, as live.
Requests due at the same time are carried out in the order they were made. A seeded
account can start with requests already in flight (sent before the replay's start), so a
replay resumed from a live snapshot lands them exactly when the live run would have.

Messages: the exchange delivers what one moment's prints did to the account as one
execution message, then order, position and wallet messages (the local venue publishes
each topic once per matching step). The engine reads the executions of one message as
one batch of the same-order latch, and an order update between two executions would cut
the batch (docs/strategy.md section 7). So executions are answered as they happen, and
the other updates of the prints of one millisecond are held back (:meth:`release`) until
anything else reaches the broker: a print of a later millisecond, a ticker, funding, a
request, or the caller's :meth:`release` at the end of a replay.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from gridcore.events import (
    BUY,
    CoinBalance,
    ExecutionEvent,
    FundingEvent,
    OrderUpdateEvent,
    PositionEvent,
    PublicTradeEvent,
    TickerEvent,
    WalletEvent,
)
from gridcore.intents import CancelIntent, Intent, PlaceLimitIntent
from gridcore.positions import (
    LONG_IDX,
    SHORT_IDX,
    ZERO,
    PositionBook,
    fee,
    funding_payment,
)
from gridcore.sim.fills import FillModel
from gridcore.sim.orders import SimOrder

DEFAULT_MAKER_FEE = Decimal("0.0002")
#: Bybit's answer to a reduce-only order for a side with no position.
FLAT_SIDE_REFUSAL = "110017 current position is zero, cannot fix reduce-only order qty"


@dataclass(frozen=True, slots=True)
class SimFill:
    """One simulated execution, as stored and compared with live fills."""

    ts: int
    exec_id: str
    order_id: str
    order_link_id: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    realised_pnl: Decimal
    position_idx: int


class SimBroker:
    """A simulated account for one symbol.

    Parameters
    ----------
    fill_model:
        Decides when resting orders fill.
    maker_fee_rate:
        Fee rate on every fill's notional (grid orders rest, so they are makers).
    starting_balance:
        USDT wallet balance at the start.
    latency_ms:
        Delay between an intent and the moment its order can fill.
    """

    def __init__(
        self,
        symbol: str,
        fill_model: FillModel,
        *,
        maker_fee_rate: Decimal = DEFAULT_MAKER_FEE,
        starting_balance: Decimal = Decimal(10_000),
        latency_ms: int = 0,
        leverage: Decimal = Decimal(10),
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms: must be >= 0, got {latency_ms}")
        if starting_balance < 0:
            raise ValueError(f"starting_balance: must be >= 0, got {starting_balance}")
        self.symbol = symbol
        self.fill_model = fill_model
        self.maker_fee_rate = maker_fee_rate
        self.latency_ms = latency_ms
        self.leverage = leverage
        self.balance = starting_balance
        self.fees_paid = ZERO
        self.funding_paid = ZERO
        self.positions = {LONG_IDX: PositionBook(LONG_IDX), SHORT_IDX: PositionBook(SHORT_IDX)}
        self.orders: dict[str, SimOrder] = {}
        self.fills: list[SimFill] = []
        self.last_price: Decimal | None = None
        self._next_order = 0
        self._order_prefix = "sim-"
        self._next_exec = 0
        self._seq = 0
        self._best_buy = float("-inf")
        self._best_sell = float("inf")
        # (due, sequence, sent_ts, intent): the sequence keeps same-time requests in order.
        self._scheduled: list[tuple[int, int, int, Intent]] = []
        # Updates held back from the fills of the prints at ``_held_ts`` (module docstring).
        self._held_updates: list[tuple[SimOrder, str]] = []
        self._held_sides: list[int] = []
        self._held_ts: int | None = None

    # ------------------------------------------------------------------ intents

    def submit(self, intents: list[Intent], ts: int) -> list[object]:
        """Take intents decided at event time ``ts``; return answers due at once.

        A closing (reduce-only) placement for a side with no position is refused at once,
        as Bybit answers it (110017) and as the live runtime answers it without sending:
        the legacy guard decides such orders until its next position check (rule 3.5).
        """
        answers = self.release()
        for intent in intents:
            if (isinstance(intent, PlaceLimitIntent) and intent.reduce_only
                    and self.positions[intent.position_idx].size == 0):
                answers.append(intent.refused(ts, FLAT_SIDE_REFUSAL, self._bump()))
            else:
                self._schedule(ts, intent)
        return answers + self.advance(ts)

    @property
    def holding(self) -> int | None:
        """The millisecond whose fills' order, position and wallet updates are held back
        (None when nothing is held)."""
        return self._held_ts

    def release(self) -> list[object]:
        """The updates held back from the last millisecond's fills: the orders' updates,
        each touched position, the wallet (nothing when nothing is held)."""
        if self._held_ts is None:
            return []
        ts, updates, sides = self._held_ts, self._held_updates, self._held_sides
        self._held_updates, self._held_sides, self._held_ts = [], [], None
        answers: list[object] = [self._order_event(o, status, ts) for o, status in updates]
        if sides:
            answers += [self._position_event(idx, ts) for idx in dict.fromkeys(sides)]
            answers.append(self._wallet_event(ts))
        return answers

    def next_due_ts(self) -> int | None:
        """When the next request in flight lands, if any."""
        return self._scheduled[0][0] if self._scheduled else None

    def advance(self, ts: int) -> list[object]:
        """Carry out every request that has landed by ``ts``; return the answers."""
        due_now = bool(self._scheduled) and self._scheduled[0][0] <= ts
        answers = self.release() if due_now or ts != self._held_ts else []
        while self._scheduled and self._scheduled[0][0] <= ts:
            due, _, sent_ts, intent = heapq.heappop(self._scheduled)
            if isinstance(intent, PlaceLimitIntent):
                answers.append(self._activate(self._new_order(intent, sent_ts), due))
            else:
                answers.extend(self._cancel(intent, due))
        if answers:
            self._refresh_best()
        return answers

    def in_flight(self) -> list[tuple[int, Intent]]:
        """Requests sent but not landed yet, as ``(sent_ts, intent)`` in landing order.

        This is what a snapshot must carry besides the engine state: the engine counts
        these orders as pending, so a replay resumed without them would wait forever for
        acknowledgements (or keep orders whose cancel was already on its way).
        """
        return [(sent_ts, intent) for _, _, sent_ts, intent in sorted(self._scheduled)]

    def _schedule(self, ts: int, intent: Intent) -> None:
        heapq.heappush(self._scheduled, (ts + self.latency_ms, self._bump(), ts, intent))

    def _new_order(self, intent: PlaceLimitIntent, ts: int) -> SimOrder:
        self._next_order += 1
        while f"{self._order_prefix}{self._next_order}" in self.orders:
            self._next_order += 1
        return SimOrder(
            order_id=f"{self._order_prefix}{self._next_order}",
            order_link_id=intent.client_order_id,
            side=intent.side, price=intent.price, price_f=float(intent.price), qty=intent.qty,
            leaves_qty=intent.qty, reduce_only=intent.reduce_only,
            position_idx=intent.position_idx, placed_ts=ts, active_ts=ts + self.latency_ms,
        )

    def _activate(self, order: SimOrder, ts: int) -> OrderUpdateEvent:
        """The order reaches the book: accepted, unless its link id is already resting."""
        if any(o.order_link_id == order.order_link_id for o in self.orders.values()):
            return self._order_event(order, "Rejected", ts, reject_reason="EC_DuplicateLinkId")
        self.orders[order.order_id] = order
        self.fill_model.on_active(order)
        return self._order_event(order, "New", ts)

    def _cancel(self, intent: CancelIntent, ts: int) -> list[object]:
        for order_id, order in self.orders.items():
            if order_id == intent.order_id or (
                intent.client_order_id is not None and order.order_link_id == intent.client_order_id
            ):
                del self.orders[order_id]
                return [self._order_event(order, "Cancelled", ts)]
        return []  # already filled or gone: the exchange would answer "order does not exist"

    def seed_account(
        self,
        *,
        balance: Decimal,
        positions: dict[int, tuple[Decimal, Decimal]],
        orders: list[SimOrder],
        in_flight: Sequence[tuple[int, Intent]] = (),
    ) -> None:
        """Start from a live account's state: wallet, (size, entry) per side, resting orders,
        and the requests still in flight as ``(sent_ts, intent)`` in the order sent.

        Used to replay a live window from where the live run stood; seeded orders keep
        their exchange ids and link ids and rest from the start of the replay. Requests in
        flight land at ``sent_ts + latency_ms``, as they would have without the interruption.
        New orders are named ``simr-N``, never an id of the run resumed (a shadow run's own
        ``sim-N``): the engine remembers recent fills by order id (the same-order latch).
        """
        if self.orders or self.fills or self._scheduled:
            raise ValueError("seed_account: the broker has already traded")
        self._order_prefix = "simr-"
        self.balance = balance
        for idx, (size, entry) in positions.items():
            self.positions[idx] = PositionBook(idx, size=size, avg_entry=entry if size else ZERO)
        for order in orders:
            self.orders[order.order_id] = order
            self.fill_model.on_active(order)
        for sent_ts, intent in in_flight:
            self._schedule(sent_ts, intent)
        self._refresh_best()

    # ------------------------------------------------------------------ market

    def initial_events(self, ts: int) -> list[object]:
        """The account as the private streams would show it on connect."""
        return [self._position_event(LONG_IDX, ts), self._position_event(SHORT_IDX, ts),
                self._wallet_event(ts)]

    def on_market(self, event: object) -> list[object]:
        """Fills (and funding) caused by one market event, as account events."""
        if isinstance(event, PublicTradeEvent):
            return self.on_print(event.price, float(event.size), event.exchange_ts)
        answers = self.release()
        if isinstance(event, TickerEvent):
            answers += self.on_print(event.last_price, None, event.exchange_ts)
        elif isinstance(event, FundingEvent):
            answers += self._on_funding(event)
        return answers

    def best_prices(self) -> tuple[float, float]:
        """Highest resting BUY and lowest resting SELL (infinite when none)."""
        return self._best_buy, self._best_sell

    def reaches_book(self, price: float) -> bool:
        """Whether a print at ``price`` touches any resting order (a cheap pre-check)."""
        return price <= self._best_buy or price >= self._best_sell

    def on_print(self, price: Decimal, size: float | None, ts: int) -> list[object]:
        """A ticker (``size`` None) or trade print: fill what the model says, best first.

        The executions are answered at once, after whatever was held from an earlier
        millisecond; the orders', positions' and wallet's updates of a trade print are
        held until the millisecond's prints are done (module docstring), a ticker's are
        answered after its executions.
        """
        answers = self.release() if ts != self._held_ts else []
        self.last_price = price
        price_f = float(price)
        if not self.reaches_book(price_f) or (size is None and not self.fill_model.uses_tickers):
            return answers
        remaining = size
        filled = False
        for order in sorted(
            (o for o in self.orders.values() if o.active_ts <= ts),
            key=lambda o: (-o.price_f if o.side == BUY else o.price_f, o.active_ts),
        ):
            qty, used = self.fill_model.fill(order, price_f, remaining)
            if remaining is not None:
                remaining -= used
            if qty > 0:
                execution = self._fill(order, min(qty, order.leaves_qty), ts)
                if execution is not None:
                    answers.append(execution)
                    self._held_sides.append(order.position_idx)
                self._held_updates.append((order, _status(order, execution is not None)))
                self._held_ts, filled = ts, True
        if filled:
            self._refresh_best()
        return answers if size is not None else answers + self.release()

    def _fill(self, order: SimOrder, qty: Decimal, ts: int) -> ExecutionEvent | None:
        """Book a fill of ``qty``; its execution, or None when a reduce-only order found its
        position gone (the exchange cancels it)."""
        book = self.positions[order.position_idx]
        if order.reduce_only:
            qty = min(qty, book.size)
            if qty == 0:
                del self.orders[order.order_id]
                return None
        outcome = book.apply_fill(order.side, qty, order.price)
        paid = fee(order.price, qty, self.maker_fee_rate)
        self.balance += outcome.realised_pnl - paid
        self.fees_paid += paid
        order.leaves_qty -= qty
        if order.reduce_only and order.leaves_qty > 0 and book.size == 0:
            order.leaves_qty = ZERO  # trimmed to the position, as Bybit does
        self._next_exec += 1
        fill = SimFill(ts=ts, exec_id=f"simx-{self._next_exec}", order_id=order.order_id,
                       order_link_id=order.order_link_id, side=order.side, price=order.price,
                       qty=qty, fee=paid, realised_pnl=outcome.realised_pnl,
                       position_idx=order.position_idx)
        self.fills.append(fill)
        if order.leaves_qty == 0:
            del self.orders[order.order_id]
        return ExecutionEvent(
            symbol=self.symbol, exchange_ts=ts, local_ts=ts, seq=self._bump(),
            exec_id=fill.exec_id, order_id=order.order_id, order_link_id=order.order_link_id,
            side=order.side, exec_price=order.price, exec_qty=qty, exec_fee=paid,
            fee_rate=self.maker_fee_rate, leaves_qty=order.leaves_qty,
            closed_size=outcome.closed_qty, exec_type="Trade", is_maker=True,
        )

    def _on_funding(self, event: FundingEvent) -> list[object]:
        mark = event.mark_price or self.last_price
        if mark is None:
            return []
        for idx, book in self.positions.items():
            if book.size > 0:
                payment = funding_payment(mark, book.size, event.funding_rate, idx)
                self.balance -= payment
                self.funding_paid += payment
        return [self._wallet_event(event.exchange_ts)]

    # ------------------------------------------------------------------ reporting

    def unrealised_pnl(self, mark: Decimal | None = None) -> Decimal:
        """Open PnL of both sides at ``mark`` (default: the last price seen)."""
        price = mark if mark is not None else self.last_price
        if price is None:
            return ZERO
        return sum((book.unrealised_pnl(price) for book in self.positions.values()), ZERO)

    def equity(self, mark: Decimal | None = None) -> Decimal:
        """Wallet balance plus open PnL."""
        return self.balance + self.unrealised_pnl(mark)

    # ------------------------------------------------------------------ helpers

    def _bump(self) -> int:
        self._seq += 1
        return self._seq

    def _refresh_best(self) -> None:
        buys = [o.price_f for o in self.orders.values() if o.side == BUY]
        sells = [o.price_f for o in self.orders.values() if o.side != BUY]
        self._best_buy = max(buys, default=float("-inf"))
        self._best_sell = min(sells, default=float("inf"))

    def _order_event(
        self, order: SimOrder, status: str, ts: int, reject_reason: str = ""
    ) -> OrderUpdateEvent:
        return OrderUpdateEvent(
            symbol=self.symbol, exchange_ts=ts, local_ts=ts, seq=self._bump(),
            order_id=order.order_id, order_link_id=order.order_link_id, side=order.side,
            price=order.price, qty=order.qty, order_status=status,
            reduce_only=order.reduce_only, position_idx=order.position_idx,
            cum_exec_qty=order.qty - order.leaves_qty, leaves_qty=order.leaves_qty,
            reject_reason=reject_reason,
        )

    def _position_event(self, idx: int, ts: int) -> PositionEvent:
        book = self.positions[idx]
        mark = self.last_price if self.last_price is not None else book.avg_entry
        return PositionEvent(
            symbol=self.symbol, exchange_ts=ts, local_ts=ts, seq=self._bump(),
            position_idx=idx, size=book.size, entry_price=book.avg_entry,
            leverage=self.leverage, mark_price=mark, position_value=book.position_value(mark),
            unrealised_pnl=book.unrealised_pnl(mark), cum_realised_pnl=book.realised_pnl,
        )

    def _wallet_event(self, ts: int) -> WalletEvent:
        return WalletEvent(
            symbol="", exchange_ts=ts, local_ts=ts, seq=self._bump(),
            coins=(CoinBalance("USDT", self.balance, self.balance),),
        )


def _status(order: SimOrder, filled: bool) -> str:
    """An order's state after a print: cancelled (reduce-only, its position gone), filled
    or partially filled."""
    if not filled:
        return "Cancelled"
    return "Filled" if order.leaves_qty == 0 else "PartiallyFilled"
