"""Quiet cells: when a ticker step provably cannot change anything.

A step's outcome depends on the last price C only through:

(a) comparisons of C with level prices in the grid update (rule 2.U: rebuild bounds, and
    SELL above / BUY below). A level within a quarter step of the last fill becomes WAIT
    whatever C is, so only the other levels and the two ends bound the cell;
(b) each level's placement eligibility ``diff = (C - price) / C × 100`` against half a
    step. After a quiet step, every placement that was tried was refused by a guard that
    does not depend on C, so only a level that was *ineligible* and becomes eligible can
    produce an order, and only if some direction would try to place there.

``diff`` grows monotonically with C, so a level whose eligibility is the same, with a
margin far above float error, at both ends of the cell keeps it inside; the few levels
near their threshold are *watched* with the exact same expression on every ticker.
Everything else a step reads (orders, positions, wallet, fills) is engine state, and any
event that changes it drops the cell.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from gridcore.events import BUY
from gridcore.grid import WAIT, GridLevel
from gridcore.prices import is_too_close

#: Margin (in percent points of ``diff``) beyond which float error cannot flip a result.
_MARGIN_PCT = 1e-9


def is_eligible(side: str, price: float, close: float, half_step_pct: float) -> bool:
    """Rule 3.5: a BUY must sit more than half a step below the close, a SELL above."""
    diff = (close - price) / close * 100
    if side == BUY:
        return diff > 0 and abs(diff) > half_step_pct
    return diff < 0 and abs(diff) > half_step_pct


@dataclass(frozen=True, slots=True)
class QuietCell:
    """The open interval ``(low, high)`` where steps stay quiet, and the levels to watch.

    The cell holds while no watched ``(side, price)`` level becomes eligible.
    """

    low: float
    high: float
    watched: tuple[tuple[str, float], ...]


def quiet_cell(
    levels: list[GridLevel],
    close: float,
    half_step_pct: float,
    too_close_pct: float,
    last_filled_price: float | None,
    reachable: Callable[[GridLevel], bool],
) -> QuietCell | None:
    """The cell around ``close`` after a quiet step, or ``None`` if there is none.

    ``reachable(level)`` tells whether some direction would try to place an order at the
    level (no order of its side held there, and not a closing order with nothing to
    close). There is no cell when the close sits on a bounding price (a level then keeps
    its side, a state of its own), outside the grid, or when the levels are not sorted.
    """
    if not levels:
        return None
    prices = [level.price for level in levels]
    if any(a > b for a, b in zip(prices, prices[1:], strict=False)):
        return None  # only the legacy re-centre quirk unsorts a grid; stay on the slow path
    bounds = [prices[0]] + [
        level.price for level in levels[1:-1]
        if last_filled_price is None
        or not is_too_close(level.price, last_filled_price, too_close_pct)
    ] + [prices[-1]]
    position = bisect_left(bounds, close)
    if position == 0 or position == len(bounds) or bounds[position] == close:
        return None
    low, high = bounds[position - 1], bounds[position]
    watched = []
    for level in levels:
        if level.side == WAIT or is_eligible(level.side, level.price, close, half_step_pct):
            continue
        diff_low = (low - level.price) / low * 100
        diff_high = (high - level.price) / high * 100
        if level.side == BUY:
            never = diff_high < half_step_pct - _MARGIN_PCT
        else:
            never = diff_low > -half_step_pct + _MARGIN_PCT
        if not never and reachable(level):
            watched.append((level.side, level.price))
    return QuietCell(low=low, high=high, watched=tuple(watched))
