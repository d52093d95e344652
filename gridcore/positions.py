"""Position and PnL arithmetic for linear USDT perpetuals in hedge mode.

One :class:`PositionBook` per side of the hedge (``position_idx`` 1 long, 2 short). All
money is ``Decimal`` so that simulated PnL, fees and funding add up to the cent, exactly as
the exchange reports them, with no float drift over a month of fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridcore.events import BUY, SELL

LONG_IDX = 1
SHORT_IDX = 2
ZERO = Decimal(0)


def fee(price: Decimal, qty: Decimal, fee_rate: Decimal) -> Decimal:
    """Fee paid on a fill: notional × rate (a negative rate is a rebate)."""
    return price * qty * fee_rate


def funding_payment(
    mark_price: Decimal, size: Decimal, rate: Decimal, position_idx: int
) -> Decimal:
    """What the position pays at a funding time (negative: it receives).

    Longs pay ``mark × size × rate`` when the rate is positive, shorts receive it.
    """
    amount = mark_price * size * rate
    return amount if position_idx == LONG_IDX else -amount


def opening_side(position_idx: int) -> str:
    """The side that grows this position: Buy for the long side, Sell for the short side."""
    return BUY if position_idx == LONG_IDX else SELL


@dataclass(slots=True)
class Fill:
    """The outcome of one fill on a position: what was closed and what it realised."""

    closed_qty: Decimal
    realised_pnl: Decimal


@dataclass(slots=True)
class PositionBook:
    """Size and average entry of one hedge-mode side, with cumulative realised PnL."""

    position_idx: int
    size: Decimal = ZERO
    avg_entry: Decimal = ZERO
    realised_pnl: Decimal = ZERO

    def apply_fill(self, side: str, qty: Decimal, price: Decimal) -> Fill:
        """Apply a fill; an opening fill moves the average entry, a closing one realises.

        A closing fill larger than the position closes it and no more (hedge mode never
        flips a side through zero: reduce-only orders are trimmed by the exchange).
        """
        if qty <= 0:
            raise ValueError(f"qty: must be > 0, got {qty}")
        if side == opening_side(self.position_idx):
            new_size = self.size + qty
            self.avg_entry = (self.avg_entry * self.size + price * qty) / new_size
            self.size = new_size
            return Fill(closed_qty=ZERO, realised_pnl=ZERO)
        closed = min(qty, self.size)
        pnl = self.pnl_per_unit(price) * closed
        self.size -= closed
        self.realised_pnl += pnl
        if self.size == 0:
            self.avg_entry = ZERO
        return Fill(closed_qty=closed, realised_pnl=pnl)

    def pnl_per_unit(self, price: Decimal) -> Decimal:
        """Profit of one unit closed at ``price`` against the average entry."""
        if self.position_idx == LONG_IDX:
            return price - self.avg_entry
        return self.avg_entry - price

    def unrealised_pnl(self, mark_price: Decimal) -> Decimal:
        """PnL of the open size at ``mark_price``; an empty position has none."""
        if self.size == 0:
            return ZERO
        return self.pnl_per_unit(mark_price) * self.size

    def position_value(self, mark_price: Decimal) -> Decimal:
        """Notional of the open size at ``mark_price``."""
        return self.size * mark_price
