"""The grid: price levels around the market, each a BUY, SELL or WAIT (docs/strategy.md section 2).

Prices use the legacy float arithmetic (:func:`gridcore.prices.round_to_tick`) so a grid
built here is identical, float for float, to the one the legacy bot built.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridcore.events import BUY, SELL
from gridcore.prices import is_too_close, round_to_tick

WAIT = "Wait"

#: Imbalance of BUY versus SELL levels beyond which the grid is re-centred.
RECENTRE_THRESHOLD = 0.3


@dataclass(slots=True)
class GridLevel:
    """One level: a price (legacy float, on the tick) and what the grid wants there."""

    price: float
    side: str


class Grid:
    """Price levels built around a price and moved as it trades.

    A build (and every rebuild) gives levels strictly ascending by price. The legacy
    re-centre, kept for parity, can then break that order: it builds the new top SELL from
    the highest SELL level, and when WAIT levels sit above that SELL the new level can land
    on their price or below it (docs/deviations.md). Such a descent lasts until the next
    build, so code that needs the lowest or highest price uses min/max, not the ends.

    ``version`` increases whenever a level's price or side changes, so callers can tell
    cheaply whether a step changed the grid; ``builds`` counts (re)builds for reports.
    """

    __slots__ = ("tick_size", "count", "step", "levels", "version", "builds")

    def __init__(self, tick_size: float, count: int, step: float) -> None:
        if not tick_size > 0:
            raise ValueError(f"tick_size: must be > 0, got {tick_size!r}")
        if count < 2:
            raise ValueError(f"count: must be >= 2, got {count!r}")
        if not step > 0:
            raise ValueError(f"step: must be > 0, got {step!r}")
        self.tick_size = tick_size
        self.count = count
        self.step = step
        self.levels: list[GridLevel] = []
        self.version = 0
        self.builds = 0

    def _round(self, price: float) -> float:
        return round_to_tick(price, self.tick_size)

    def build(self, price: float | None) -> None:
        """Replace the levels by n/2 BUY, one WAIT at ``price`` and n/2 SELL (rule 2.B).

        Each level is computed from the previous *rounded* price, as the legacy bot did.
        Nothing happens when the price is unknown or not positive.
        """
        if price is None or not price > 0:
            return
        half = self.count // 2
        factor_up = 1 + self.step / 100
        factor_down = 1 - self.step / 100
        above: list[GridLevel] = []
        q = price
        for _ in range(half):
            q = self._round(q * factor_up)
            above.append(GridLevel(q, SELL))
        below: list[GridLevel] = []
        q = price
        for _ in range(half):
            q = self._round(q * factor_down)
            below.append(GridLevel(q, BUY))
        below.reverse()
        self.levels = [*below, GridLevel(self._round(price), WAIT), *above]
        self.version += 1
        self.builds += 1

    def update(self, last_filled_price: float | None, last_close: float | None) -> None:
        """Re-side the levels around the last close and the last fill, then re-centre.

        Rule 2.U: rebuild when the close leaves the grid (strictly), mark levels within a
        quarter step of the last fill WAIT, the others SELL above and BUY below the close,
        then re-centre. Skipped when either price is unknown.
        """
        if last_filled_price is None or last_close is None:
            return
        levels = self.levels
        # min/max, not first/last: the legacy re-centre can leave the levels unsorted.
        if not levels or not (
            min(level.price for level in levels) < last_close
            < max(level.price for level in levels)
        ):
            self.build(last_close)
            levels = self.levels
        too_close_pct = self.step / 4
        changed = False
        for level in levels:
            price = level.price
            if is_too_close(price, last_filled_price, too_close_pct):
                side = WAIT
            elif last_close < price:
                side = SELL
            elif last_close > price:
                side = BUY
            else:
                continue
            if side != level.side:
                level.side = side
                changed = True
        if self._recentre() or changed:
            self.version += 1

    def _recentre(self) -> bool:
        """Move one level from the crowded side to the other (rule 2.R); True if moved.

        Deviation: with BUY levels and no SELL level the legacy code added a SELL at price
        0 (it took 0 as the highest SELL); here the highest level's price is used instead
        (docs/deviations.md, D1).
        """
        buys = sells = 0
        highest_sell: float | None = None
        for level in self.levels:
            if level.side == BUY:
                buys += 1
            elif level.side == SELL:
                sells += 1
                highest_sell = level.price
        total = buys + sells
        if total == 0:
            return False
        if (buys - sells) / total > RECENTRE_THRESHOLD:
            top = highest_sell if highest_sell is not None else self.levels[-1].price
            del self.levels[0]
            self.levels.append(GridLevel(self._round(top * (1 + self.step / 100)), SELL))
            return True
        if (sells - buys) / total > RECENTRE_THRESHOLD:
            bottom = self.levels[0].price
            del self.levels[-1]
            self.levels.insert(0, GridLevel(self._round(bottom * (1 - self.step / 100)), BUY))
            return True
        return False

    def to_state(self) -> list[list[float | str]]:
        """Levels as ``[price, side]`` pairs (floats round-trip exactly through JSON)."""
        return [[level.price, level.side] for level in self.levels]

    def load_state(self, levels: list[list[float | str]], builds: int) -> None:
        """Restore levels saved by :meth:`to_state`."""
        self.levels = [GridLevel(float(price), str(side)) for price, side in levels]
        self.builds = builds
        self.version += 1
