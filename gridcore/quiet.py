"""Quiet cells: when a ticker step provably cannot change anything.

A step's outcome depends on the last price C only through (a) comparisons of C with the
level prices (rebuild bounds, which side each level gets) and (b) each level's placement
eligibility ``diff = (C - price) / C × 100`` against half a grid step. Between two
neighbouring level prices (a) is constant. ``diff`` grows monotonically with C, so a level
whose eligibility is the same, with a margin far above float error, at both ends of the
interval keeps it inside; the few levels near a threshold are *watched* and re-evaluated
with the exact same expression on every ticker. Everything else a step reads (orders,
positions, wallet, fills) is engine state: any event that changes it drops the cell.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from gridcore.events import BUY
from gridcore.grid import WAIT, GridLevel

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
    """The open interval ``(low, high)`` in which steps stay quiet, and what to re-check."""

    low: float
    high: float
    watched: tuple[tuple[str, float, bool], ...]


def quiet_cell(levels: list[GridLevel], close: float, half_step_pct: float) -> QuietCell | None:
    """The cell around ``close`` after a quiet step, or ``None`` if there is none.

    There is none when the close sits on a level price (a level then keeps its side, a
    state of its own), outside the grid (the next update would rebuild it) or when the
    levels are not sorted.
    """
    if not levels:
        return None
    prices = [level.price for level in levels]
    if any(a > b for a, b in zip(prices, prices[1:])):
        return None  # only the legacy re-centre quirk unsorts a grid; stay on the slow path
    position = bisect_left(prices, close)
    if position == 0 or position == len(prices) or prices[position] == close:
        return None
    low, high = prices[position - 1], prices[position]
    watched = []
    for level in levels:
        if level.side == WAIT:
            continue
        diff_low = (low - level.price) / low * 100
        diff_high = (high - level.price) / high * 100
        if level.side == BUY:
            stable = diff_low > half_step_pct + _MARGIN_PCT or diff_high < half_step_pct - _MARGIN_PCT
        else:
            stable = (diff_high < -half_step_pct - _MARGIN_PCT
                      or diff_low > -half_step_pct + _MARGIN_PCT)
        if not stable:
            watched.append((level.side, level.price,
                            is_eligible(level.side, level.price, close, half_step_pct)))
    return QuietCell(low=low, high=high, watched=tuple(watched))
