"""Fill models: when, and how much of, a resting limit order fills (docs/validation.md).

Each model is stateless; what it must remember (volume traded since the order became
active, queue still ahead of it) rides on the :class:`~gridcore.sim.orders.SimOrder`.
Models see one market print at a time: a ticker's last price (``size`` None) or a public
trade (``size`` set), and return how much of the order fills and how much of the print's
volume that used. The broker offers a print to the best-priced orders first and passes on
only the volume left, so one unit of traded volume never fills two orders beyond its size
(docs/validation.md): a trade may fill one order larger than itself (CONSERVATIVE, and QUEUE
through the price, fill all of Q), never a second one. OPTIMISTIC is the exception by
definition: the legacy price-only rule, where reaching the price fills whatever the volume.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from gridcore.events import BUY
from gridcore.sim.orders import SimOrder

NOTHING = (Decimal(0), 0.0)


class FillModel(Protocol):
    """Decides how much of an order a market print fills."""

    #: Whether ticker prints can fill (only the optimistic model trusts them).
    uses_tickers: bool

    def on_active(self, order: SimOrder) -> None:
        """Set up the order's model state when it starts resting (after latency)."""
        ...

    def fill(self, order: SimOrder, price: float, size: float | None) -> tuple[Decimal, float]:
        """(quantity filled, print volume used) for a print at ``price`` of ``size``."""
        ...


def reaches(order: SimOrder, price: float) -> bool:
    """A print at or below a BUY's price, or at or above a SELL's."""
    return price <= order.price_f if order.side == BUY else price >= order.price_f


class OptimisticFill:
    """Best case, the legacy backtester's rule: any print reaching the price fills all.

    Assumes the order is first in its queue and that a ticker's last price is tradeable.
    """

    uses_tickers = True

    def on_active(self, order: SimOrder) -> None:
        return None

    def fill(self, order: SimOrder, price: float, size: float | None) -> tuple[Decimal, float]:
        return (order.leaves_qty, 0.0) if reaches(order, price) else NOTHING


class ConservativeFill:
    """The recommended default: a public trade at or through the price fills all.

    Tickers never fill: a last price can be a stale print or an index-driven mark. The
    trade's volume is used up to the order's size, so a tiny trade fills one big order,
    not two (the volume cap of the module docstring).
    """

    uses_tickers = False

    def on_active(self, order: SimOrder) -> None:
        return None

    def fill(self, order: SimOrder, price: float, size: float | None) -> tuple[Decimal, float]:
        if size is None or size <= 0 or not reaches(order, price):
            return NOTHING
        return order.leaves_qty, min(size, float(order.leaves_qty))


class PessimisticFill:
    """Worst case: the order fills, all at once, only when the volume traded at or through
    its price since it became active exceeds its quantity.

    Volume is shared by size: the order takes every unit offered to it until it fills, and
    then keeps only what it needed to reach its quantity; the rest of that print goes on to
    the next order. (Volume counted for two orders at once could fill both from one unit.)
    """

    uses_tickers = False

    def on_active(self, order: SimOrder) -> None:
        order.volume_seen = 0.0

    def fill(self, order: SimOrder, price: float, size: float | None) -> tuple[Decimal, float]:
        if size is None or size <= 0 or not reaches(order, price):
            return NOTHING
        before = order.volume_seen
        order.volume_seen = before + size
        if order.volume_seen > float(order.leaves_qty):
            return order.leaves_qty, float(order.leaves_qty) - before
        return Decimal(0), size
