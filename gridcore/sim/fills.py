"""Fill models: when, and how much of, a resting limit order fills (validation.md).

Each model is stateless; what it must remember (volume traded since placement, queue
ahead) is kept on the :class:`~gridcore.sim.orders.SimOrder`. Models see one market print
at a time: a ticker's last price (``size`` None) or a public trade (``size`` set).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from gridcore.events import BUY
from gridcore.sim.orders import SimOrder


class FillModelName(StrEnum):
    """The fill models a backtest can be asked for."""

    OPTIMISTIC = "OPTIMISTIC"


class FillModel(Protocol):
    """Decides how much of ``order`` a market print fills."""

    def fill_qty(self, order: SimOrder, price: float, size: float | None) -> Decimal:
        """Quantity of ``order`` filled by a print at ``price`` (``size`` None: a ticker)."""
        ...


def crosses(order: SimOrder, price: float) -> bool:
    """Whether a print at ``price`` reaches the order: at or below a BUY, at or above a SELL."""
    return price <= order.price_f if order.side == BUY else price >= order.price_f


class OptimisticFill:
    """Best case, the legacy backtester's rule: any print that reaches the price fills all.

    Assumes the order is at the front of its queue and that the ticker's last price is
    tradeable volume, so it overstates fills in every market; use it as an upper bound.
    """

    def fill_qty(self, order: SimOrder, price: float, size: float | None) -> Decimal:
        return order.leaves_qty if crosses(order, price) else Decimal(0)


def make_fill_model(name: FillModelName | str) -> FillModel:
    """The model called ``name`` (case-insensitive); ``ValueError`` names the known ones."""
    try:
        model = FillModelName(str(name).upper())
    except ValueError:
        known = ", ".join(m.value for m in FillModelName)
        raise ValueError(f"fill model: unknown {name!r} (known: {known})") from None
    return {FillModelName.OPTIMISTIC: OptimisticFill}[model]()
