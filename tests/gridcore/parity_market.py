"""A small hedge-mode exchange and a ticker tape from real one-minute bars, for parity tests.

Each strategy implementation under comparison trades against its own :class:`MiniExchange`
on the same tape, so two implementations that decide alike see exactly the same account
events. The exchange is deliberately plain and independent of ``gridcore.sim``: a resting
BUY fills completely when the price reaches it (a SELL mirrors it), fills of one ticker
are reported as one execution message, positions and the wallet follow every fill, and a
position reports a liquidation price only when it is large against the wallet (Bybit
sends an empty ``liqPrice`` for a cross position far from liquidation), so the rules that
read it, and ``long_koef``, both get exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from daemons.marketdata.bars import Bar, load_bars
from gridcore.events import (
    CoinBalance,
    ExecutionEvent,
    OrderUpdateEvent,
    PositionEvent,
    TickerEvent,
    WalletEvent,
)

SYMBOL = "BTCUSDT"
TICKS_PER_BAR = 4
TICK_SPACING_MS = 15_000
FEE_RATE = Decimal("0.0002")
LEVERAGE = Decimal(10)
#: A position reports a liquidation price once its value exceeds this many wallets.
LIQ_SHOWN_ABOVE_WALLETS = Decimal(2)


def day_bars(day: str) -> list[Bar]:
    """The bundled bars of one UTC day (``"2022-01-21"``), in time order."""
    from datetime import UTC, datetime

    start = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)
    end = start + 86_400_000
    return [bar for bar in _all_bars() if start <= bar.ts_ms < end]


_BARS: list[Bar] = []


def _all_bars() -> list[Bar]:
    if not _BARS:
        _BARS.extend(load_bars())
    return _BARS


def bar_tickers(bars: list[Bar], tick: Decimal = Decimal("0.1")) -> Iterator[TickerEvent]:
    """Four tickers a bar, 15 s apart: open, the nearer extreme, the farther one, close."""
    seq = 0
    for bar in bars:
        path = ((bar.open, bar.low, bar.high, bar.close) if bar.close >= bar.open
                else (bar.open, bar.high, bar.low, bar.close))
        for n, price in enumerate(path):
            ts = bar.ts_ms + n * TICK_SPACING_MS
            last = (Decimal(repr(price)) / tick).to_integral_value() * tick
            yield TickerEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, seq=seq,
                              last_price=last)
            seq += 1


@dataclass
class _Order:
    order_id: str
    link: str
    side: str
    price: Decimal
    qty: Decimal
    reduce_only: bool
    idx: int


@dataclass
class _Side:
    size: Decimal = Decimal(0)
    entry: Decimal = Decimal(0)


@dataclass
class MiniExchange:
    """One account, one symbol; every answer is a list of gridcore events."""

    balance: Decimal
    orders: dict[str, _Order] = field(default_factory=dict)
    sides: dict[int, _Side] = field(default_factory=lambda: {1: _Side(), 2: _Side()})
    last: Decimal = Decimal(0)
    fills: int = 0
    _next: int = 0

    def _order_event(self, order: _Order, status: str, ts: int,
                     qty: Decimal | None = None) -> OrderUpdateEvent:
        return OrderUpdateEvent(
            symbol=SYMBOL, exchange_ts=ts, local_ts=ts, order_id=order.order_id,
            order_link_id=order.link, side=order.side, price=order.price,
            qty=order.qty if qty is None else qty, order_status=status,
            reduce_only=order.reduce_only, position_idx=order.idx)

    def start(self, ts: int) -> list[object]:
        return [*self._positions(ts), self._wallet(ts)]

    def place(self, link: str, side: str, price: Decimal, qty: Decimal, reduce_only: bool,
              idx: int, ts: int) -> list[object]:
        self._next += 1
        order = _Order(f"ox{self._next}", link, side, price, qty, reduce_only, idx)
        self.orders[order.order_id] = order
        return [self._order_event(order, "New", ts)]

    def cancel(self, key: str, ts: int) -> list[object]:
        order = self.orders.pop(key, None) or next(
            (self.orders.pop(o.order_id) for o in list(self.orders.values()) if o.link == key),
            None)
        return [] if order is None else [self._order_event(order, "Cancelled", ts)]

    def describe(self, key: str) -> tuple[str, float, float, bool]:
        """The (side, price, qty, reduce-only) of a resting order, by id or link id."""
        order = self.orders.get(key) or next(o for o in self.orders.values() if o.link == key)
        return (order.side, float(order.price), float(order.qty), order.reduce_only)

    def trade_to(self, price: Decimal, ts: int) -> tuple[list[ExecutionEvent], list[object]]:
        """Fill what ``price`` reaches; return (the execution message, the other events)."""
        self.last = price
        crossed = [o for o in self.orders.values()
                   if (o.side == "Buy" and price <= o.price)
                   or (o.side == "Sell" and price >= o.price)]
        executions: list[ExecutionEvent] = []
        others: list[object] = []
        for order in crossed:
            side = self.sides[order.idx]
            closing = order.reduce_only
            qty = min(order.qty, side.size) if closing else order.qty
            del self.orders[order.order_id]
            if qty <= 0:
                others.append(self._order_event(order, "Cancelled", ts))
                continue
            fee = order.price * qty * FEE_RATE
            if closing:
                sign = 1 if order.idx == 1 else -1
                self.balance += sign * (order.price - side.entry) * qty
                side.size -= qty
                if side.size == 0:
                    side.entry = Decimal(0)
            else:
                side.entry = (side.entry * side.size + order.price * qty) / (side.size + qty)
                side.size += qty
            self.balance -= fee
            self.fills += 1
            leaves = order.qty - qty
            executions.append(ExecutionEvent(
                symbol=SYMBOL, exchange_ts=ts, local_ts=ts, exec_id=f"e{self.fills}",
                order_id=order.order_id, order_link_id=order.link, side=order.side,
                exec_price=order.price, exec_qty=qty, exec_fee=fee, fee_rate=FEE_RATE,
                leaves_qty=leaves, closed_size=qty if closing else Decimal(0)))
            status = "Filled" if leaves == 0 else "PartiallyFilledCanceled"
            others.append(self._order_event(order, status, ts))
        if executions:
            others.extend(self._positions(ts))
            others.append(self._wallet(ts))
        return executions, others

    def _positions(self, ts: int) -> list[PositionEvent]:
        events = []
        for idx, side in self.sides.items():
            value = side.size * (self.last or side.entry)
            liq = Decimal(0)
            if side.size > 0 and value > LIQ_SHOWN_ABOVE_WALLETS * self.balance:
                cushion = self.balance / 2 / side.size
                liq = max(Decimal(0), side.entry - cushion if idx == 1 else side.entry + cushion)
            events.append(PositionEvent(
                symbol=SYMBOL, exchange_ts=ts, local_ts=ts, position_idx=idx, size=side.size,
                entry_price=side.entry.quantize(Decimal("0.01")), leverage=LEVERAGE,
                liq_price=liq.quantize(Decimal("0.1")), position_value=value))
        return events

    def _wallet(self, ts: int) -> WalletEvent:
        return WalletEvent(symbol="", exchange_ts=ts, local_ts=ts,
                           coins=(CoinBalance("USDT", self.balance, self.balance),))
