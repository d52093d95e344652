"""Where live and a replay differ: per grid level and per direction of the hedge.

A whole-run PnL delta says that something differs; these tables say where. Fills per grid
level (price and side) show the levels one side fills and the other does not; the
long/short split shows which direction the money difference comes from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from daemons.validation.books import Books
from daemons.validation.matching import OrderFill
from gridcore.positions import LONG_IDX, SHORT_IDX

DIRECTIONS = {LONG_IDX: "long", SHORT_IDX: "short"}


@dataclass(frozen=True, slots=True)
class LevelRow:
    """Fills at one grid price and side, per side of the comparison (live first)."""

    price: Decimal
    side: str
    fills: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class DirectionRow:
    """One side's money on one direction of the hedge."""

    direction: str
    source: str
    fills: int
    realised: Decimal
    fees: Decimal
    funding: Decimal
    pnl: Decimal


def levels(orders: Mapping[str, Sequence[OrderFill]], tick_size: Decimal) -> list[LevelRow]:
    """Filled orders per (price, side) for every source (``live`` and each model), by price
    from the highest level down."""
    counts = {name: Counter((o.key.price_ticks, o.key.side) for o in group)
              for name, group in orders.items()}
    keys = sorted(set().union(*counts.values()), key=lambda k: (-k[0], k[1]))
    return [LevelRow(ticks * tick_size, side,
                     {name: c[(ticks, side)] for name, c in counts.items()})
            for ticks, side in keys]


def directions(books: Mapping[str, Books], mark: Decimal | None) -> list[DirectionRow]:
    """Per direction, per source: fills, realised, fees, funding and PnL at ``mark``."""
    return [DirectionRow(label, name, b.fills[idx], b.realised[idx], b.fees[idx],
                         b.funding[idx], b.pnl(mark, idx))
            for idx, label in DIRECTIONS.items() for name, b in books.items()]
