"""Accounts: USDT wallet, hedge-mode positions, fees, realised PnL, funding, margin.

Money is Decimal throughout (it goes on the wire as Bybit's decimal strings). Positions
are cross margin in hedge mode, a pair per listed symbol: index 1 holds the long side,
index 2 the short side. One wallet carries every symbol's margin, fees and PnL; marks
are given per symbol (``Marks``: symbol to last price in that symbol's ticks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from daemons.venue.config import AccountSpec
from daemons.venue.instruments import Instrument
from daemons.venue.orders import Execution, Order

Marks = Mapping[str, int]

EIGHT = Decimal("0.00000001")
MAINTENANCE_RATE = Decimal("0.005")


@dataclass
class Position:
    """One side of the hedge-mode pair; ``size_lots`` is never negative."""

    idx: int
    inst: Instrument
    created_ms: int
    size_lots: int = 0
    avg_price: Decimal = Decimal(0)
    cur_realised: Decimal = Decimal(0)
    cum_realised: Decimal = Decimal(0)
    updated_ms: int = 0
    seq: int = 0

    @property
    def side(self) -> str:
        if self.size_lots == 0:
            return ""
        return "Buy" if self.idx == 1 else "Sell"

    @property
    def sign(self) -> int:
        return 1 if self.idx == 1 else -1

    @property
    def symbol(self) -> str:
        return self.inst.symbol

    @property
    def qty(self) -> Decimal:
        return self.inst.qty(self.size_lots)

    @property
    def value(self) -> Decimal:
        """Position value at entry: what initial and maintenance margin are taken on."""
        return self.avg_price * self.qty

    def unrealised(self, mark_ticks: int) -> Decimal:
        if self.size_lots == 0:
            return Decimal(0)
        return (self.inst.price(mark_ticks) - self.avg_price) * self.qty * self.sign


@dataclass
class Account:
    """The venue-side state of one account (the spec holds the keys)."""

    spec: AccountSpec
    uid: int
    instruments: tuple[Instrument, ...]
    wallet: Decimal = Decimal(0)
    cum_realised: Decimal = Decimal(0)
    orders: dict[str, Order] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    positions: dict[tuple[str, int], Position] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.wallet = self.spec.usdt
        self.positions = {(inst.symbol, i): Position(i, inst, 0)
                          for inst in self.instruments for i in (1, 2)}

    def __repr__(self) -> str:
        return f"Account(name={self.spec.name!r}, uid={self.uid}, wallet={self.wallet})"

    @property
    def name(self) -> str:
        return self.spec.name

    def position(self, symbol: str, idx: int) -> Position:
        return self.positions[(symbol, idx)]

    def sides(self, symbol: str) -> list[Position]:
        """The long and the short side of ``symbol``."""
        return [self.positions[(symbol, 1)], self.positions[(symbol, 2)]]

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.is_open]

    def find_open_link(self, link_id: str) -> Order | None:
        """The open order carrying ``link_id`` (Bybit keeps it unique among open ones)."""
        for order in self.orders.values():
            if order.is_open and order.order_link_id == link_id:
                return order
        return None

    def order_margin(self, marks: Marks) -> Decimal:
        """Initial margin held by open orders that would open or grow a position."""
        total = Decimal(0)
        for order in self.open_orders():
            if order.opens_position:
                ticks = order.price_ticks or marks[order.symbol]
                total += order.inst.price(ticks) * order.inst.qty(order.leaves_lots)
        return total / self.spec.leverage

    def total_unrealised(self, marks: Marks) -> Decimal:
        return sum((p.unrealised(marks[p.symbol]) for p in self.positions.values()
                    if p.size_lots), Decimal(0))

    def _positions_value(self) -> Decimal:
        return sum((p.value for p in self.positions.values() if p.size_lots), Decimal(0))

    def position_im(self) -> Decimal:
        return self._positions_value() / self.spec.leverage

    def position_mm(self) -> Decimal:
        return self._positions_value() * MAINTENANCE_RATE

    def available(self, marks: Marks) -> Decimal:
        """Balance free for new orders: losses count, unrealised profit does not."""
        upl = min(self.total_unrealised(marks), Decimal(0))
        return self.wallet + upl - self.position_im() - self.order_margin(marks)

    def liq_price(self, pos: Position) -> Decimal:
        """Estimate: the price at which this side's loss eats the wallet above maintenance
        (cross margin: the maintenance margin of every symbol's positions counts)."""
        if pos.size_lots == 0:
            return Decimal(0)
        buffer = (self.wallet - self.position_mm()) / pos.qty
        return max(pos.avg_price - buffer * pos.sign, Decimal(0)).quantize(pos.inst.tick_size)

    def apply_fill(
        self, order: Order, price_ticks: int, lots: int, is_maker: bool, now_ms: int,
    ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Book a fill into position and wallet: (fee, fee rate, closed size, closed PnL)."""
        pos = self.positions[(order.symbol, order.position_idx)]
        price, qty = order.inst.price(price_ticks), order.inst.qty(lots)
        rate = self.spec.maker_fee_rate if is_maker else self.spec.taker_fee_rate
        fee = (price * qty * rate).quantize(EIGHT)
        pnl, closed = Decimal(0), Decimal(0)
        if order.opens_position:
            if pos.size_lots == 0:
                pos.created_ms, pos.cur_realised = now_ms, Decimal(0)
            total = pos.size_lots + lots
            pos.avg_price = (pos.avg_price * pos.size_lots + price * lots) / total
            pos.avg_price = pos.avg_price.quantize(EIGHT)
            pos.size_lots = total
        else:
            closed_lots = min(lots, pos.size_lots)
            closed = order.inst.qty(closed_lots)
            pnl = ((price - pos.avg_price) * closed * pos.sign).quantize(EIGHT)
            pos.size_lots -= closed_lots
            if pos.size_lots == 0:
                pos.avg_price = Decimal(0)
        self._book(pos, pnl - fee, now_ms)
        order.closed_pnl += pnl
        return fee, rate, closed, pnl

    def apply_funding(self, pos: Position, mark_ticks: int, rate: Decimal, now_ms: int) -> Decimal:
        """Pay (positive result) or receive funding on one position: mark x size x rate."""
        payment = pos.inst.price(mark_ticks) * pos.qty * rate * pos.sign
        payment = payment.quantize(EIGHT)
        self._book(pos, -payment, now_ms)
        return payment

    def _book(self, pos: Position, amount: Decimal, now_ms: int) -> None:
        self.wallet += amount
        self.cum_realised += amount
        pos.cur_realised += amount
        pos.cum_realised += amount
        pos.updated_ms = now_ms
        pos.seq += 1
