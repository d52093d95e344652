"""Price levels with hidden size and the venue's resting orders in time priority.

Queue state rides on each order (``order.ahead``, the volume in front of it). The
invariant ``ahead[i+1] >= ahead[i] + leaves[i]`` within a level makes one unit of traded
volume fill at most one order.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from daemons.venue.orders import Order

Fill = tuple[Order, int]


@dataclass
class Level:
    """One price on one side: hidden size and the venue's orders in arrival order."""

    price: int
    hidden: int
    orders: list[Order] = field(default_factory=list)

    def total(self) -> int:
        return self.hidden + sum(o.leaves_lots for o in self.orders)


class Side:
    """All levels of one side, with their prices kept sorted for trade-through checks."""

    def __init__(self, is_buy: bool) -> None:
        self.is_buy = is_buy
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []

    def level(self, price: int, draw_hidden: Callable[[], int]) -> Level:
        found = self.levels.get(price)
        if found is None:
            found = self.levels[price] = Level(price, draw_hidden())
            bisect.insort(self.prices, price)
        return found

    def drop(self, price: int) -> None:
        if self.levels.pop(price, None) is not None:
            self.prices.remove(price)

    def through(self, price: int) -> list[Level]:
        """Levels a print at ``price`` trades through (better than it for the maker)."""
        prices = self.prices
        if not prices or (prices[-1] <= price if self.is_buy else prices[0] >= price):
            return []
        if self.is_buy:
            cut = bisect.bisect_right(self.prices, price)
            return [self.levels[p] for p in self.prices[cut:]]
        cut = bisect.bisect_left(self.prices, price)
        return [self.levels[p] for p in self.prices[:cut]]


def consume(level: Level, lots: int) -> list[Fill]:
    """Trade ``lots`` at a level: the queue ahead goes first, then orders in turn."""
    fills: list[Fill] = []
    for order in level.orders:
        filled = min(max(lots - order.ahead, 0), order.leaves_lots)
        order.ahead = max(order.ahead - lots, 0)
        if filled:
            fills.append((order, filled))
    level.hidden = max(level.hidden - lots, 0)
    return fills


class Book:
    """Both sides; the engine adds, removes and trades against it."""

    def __init__(self) -> None:
        self.buys = Side(True)
        self.sells = Side(False)

    def side(self, is_buy: bool) -> Side:
        return self.buys if is_buy else self.sells

    def add(self, order: Order, draw_hidden: Callable[[], int]) -> None:
        """Queue ``order`` behind the hidden size and every order already at its price."""
        level = self.side(order.is_buy).level(order.price_ticks, draw_hidden)
        order.ahead = level.total()
        level.orders.append(order)

    def remove(self, order: Order) -> None:
        """Take an order out; orders behind it move up by its remaining size."""
        side = self.side(order.is_buy)
        level = side.levels.get(order.price_ticks)
        if level is None or order not in level.orders:
            return
        position = level.orders.index(order)
        for later in level.orders[position + 1 :]:
            later.ahead = max(later.ahead - order.leaves_lots, 0)
        level.orders.pop(position)
        if not level.orders:
            side.drop(order.price_ticks)

    def trade(self, price: int, lots: int) -> tuple[list[Fill], list[Fill]]:
        """A tape print: (fills of levels traded through, fills from the queue at price).

        Through-fills are complete: the print proves all size at those prices is gone.
        """
        through: list[Fill] = []
        at_price: list[Fill] = []
        for side in (self.buys, self.sells):
            for level in side.through(price):
                through.extend((o, o.leaves_lots) for o in level.orders)
                side.drop(level.price)
            level = side.levels.get(price)
            if level is not None:
                at_price.extend(consume(level, lots))
        return through, at_price

    def prune(self, order: Order) -> None:
        """Drop a finished order left in a level after a queue fill."""
        if order.leaves_lots == 0 or not order.is_open:
            self.remove(order)
