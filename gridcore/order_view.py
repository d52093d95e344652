"""The engine's own view of its symbol's orders: open, pending placement, pending cancel.

The exchange answers asynchronously, so an order the engine asked for is *pending* until
an order update acknowledges it; the engine counts it as held, so it is never placed
twice. A cancel is *pending* until confirmed: the order still counts as open (the legacy
bot worked from the list it had read), but it is never cancelled twice.

Only plain limit orders are held (rule 3.4.1: "this direction's open limit orders"): a
user's market, stop-loss or take-profit order on the same symbol is not part of the grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gridcore.events import BUY, OrderUpdateEvent
from gridcore.intents import LONG, SHORT


@dataclass(slots=True)
class HeldOrder:
    """One order as the engine sees it; prices and quantities as legacy floats."""

    order_id: str
    order_link_id: str
    side: str
    price: float
    qty: float
    reduce_only: bool
    acknowledged: bool
    cancel_pending: bool = False
    direction: str = field(init=False)

    def __post_init__(self) -> None:
        # Rule 3.4.1: long = opening BUY or closing SELL; short = the reverse. Side and
        # reduce-only never change for an order, so this is computed once.
        self.direction = LONG if (self.side == BUY) != self.reduce_only else SHORT

    def to_state(self) -> list[object]:
        return [self.order_id, self.order_link_id, self.side, self.price, self.qty,
                self.reduce_only, self.acknowledged, self.cancel_pending]

    @classmethod
    def from_state(cls, row: list[object]) -> HeldOrder:
        order_id, link_id, side, price, qty, reduce_only, acknowledged, cancel_pending = row
        return cls(str(order_id), str(link_id), str(side), float(price), float(qty),  # type: ignore[arg-type]
                   bool(reduce_only), bool(acknowledged), bool(cancel_pending))


class OrderView:
    """Orders of one symbol, keyed by client id (or exchange id when it has none).

    Insertion order is kept and saved, because the engine visits orders in it.
    """

    __slots__ = ("orders",)

    def __init__(self) -> None:
        self.orders: dict[str, HeldOrder] = {}

    @staticmethod
    def _key(order_link_id: str, order_id: str) -> str:
        return f"L:{order_link_id}" if order_link_id else f"O:{order_id}"

    def add_pending(self, order: HeldOrder) -> None:
        """Record an order the engine has just asked for."""
        self.orders[self._key(order.order_link_id, order.order_id)] = order

    def apply_update(self, event: OrderUpdateEvent) -> bool:
        """Apply an exchange order update; return whether the view changed.

        Only open plain limit orders are held (rule 3.4.1): an update that says the order
        is gone, or that it is a market or conditional order, drops it from the view.
        """
        key = self._key(event.order_link_id, event.order_id)
        held = self.orders.get(key)
        if not (event.is_open and event.is_plain_limit):
            if held is not None and held.acknowledged and held.order_id != event.order_id:
                return False  # e.g. a duplicate link id rejected while the original rests
            return self.orders.pop(key, None) is not None
        if held is None:
            self.orders[key] = HeldOrder(
                order_id=event.order_id, order_link_id=event.order_link_id, side=event.side,
                price=float(event.price), qty=float(event.qty), reduce_only=event.reduce_only,
                acknowledged=True,
            )
            return True
        before = (held.order_id, held.price, held.qty, held.acknowledged)
        held.order_id = event.order_id
        held.price = float(event.price)
        held.qty = float(event.qty)
        held.acknowledged = True
        return before != (held.order_id, held.price, held.qty, held.acknowledged)

    def remove_filled(self, order_link_id: str, order_id: str) -> bool:
        """Drop an order whose execution left nothing; True if it was held."""
        return self.orders.pop(self._key(order_link_id, order_id), None) is not None

    def direction_orders(self, direction: str) -> list[HeldOrder]:
        """This direction's orders, in insertion order (rule 3.4.1)."""
        return [order for order in self.orders.values() if order.direction == direction]

    def all_orders(self) -> list[HeldOrder]:
        return list(self.orders.values())

    def to_state(self) -> list[list[object]]:
        return [order.to_state() for order in self.orders.values()]

    def load_state(self, rows: list[list[object]]) -> None:
        self.orders = {}
        for row in rows:
            self.add_pending(HeldOrder.from_state(row))

