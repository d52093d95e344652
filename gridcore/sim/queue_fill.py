"""The QUEUE fill model: price-time priority with an estimated queue ahead of the order.

Assumption (after hftbacktest's risk-averse queue model): when the order starts resting,
``queue_ahead`` base units already wait at its price. Trades strictly through the price
fill the order completely (every order at that price was consumed). Trades exactly at the
price first eat the queue ahead, then fill the order partially as volume arrives. The
queue parameter cannot be observed from trades alone; it is calibrated by comparing
backtests with captured live fills.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from gridcore.events import BUY
from gridcore.sim.fills import NOTHING, reaches
from gridcore.sim.orders import SimOrder


class QueueFill:
    """Partial fills behind an estimated queue (see the module docstring)."""

    uses_tickers = False

    def __init__(self, queue_ahead: float) -> None:
        if not queue_ahead >= 0:
            raise ValueError(f"queue_ahead: must be >= 0, got {queue_ahead!r}")
        self.queue_ahead = queue_ahead

    def on_active(self, order: SimOrder) -> None:
        order.queue_ahead = self.queue_ahead

    def fill(self, order: SimOrder, price: float, size: float | None) -> tuple[Decimal, float]:
        if size is None or size <= 0 or not reaches(order, price):
            return NOTHING
        through = price < order.price_f if order.side == BUY else price > order.price_f
        if through:
            return order.leaves_qty, min(size, float(order.leaves_qty))
        eaten = min(order.queue_ahead, size)
        order.queue_ahead -= eaten
        left = size - eaten
        if left <= 0:
            return Decimal(0), size
        lot = Decimal(1).scaleb(order.qty.as_tuple().exponent)  # the order's own precision
        qty = min(order.leaves_qty, Decimal(repr(left)).quantize(lot, rounding=ROUND_DOWN))
        return qty, eaten + float(qty)
