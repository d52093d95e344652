"""Choosing a fill model by name, the way a backtest request or a CLI option names it.

Kept apart from the models themselves so that ``fills`` (the protocol and the simple
models) and ``queue_fill`` (the QUEUE model, built on ``fills``) import in one direction.
"""

from __future__ import annotations

from enum import StrEnum

from gridcore.sim.fills import ConservativeFill, FillModel, OptimisticFill, PessimisticFill
from gridcore.sim.queue_fill import QueueFill


class FillModelName(StrEnum):
    """The fill models a backtest can be asked for."""

    OPTIMISTIC = "OPTIMISTIC"
    CONSERVATIVE = "CONSERVATIVE"
    PESSIMISTIC = "PESSIMISTIC"
    QUEUE = "QUEUE"


def make_fill_model(name: FillModelName | str, *, queue_ahead: float = 0.0) -> FillModel:
    """The model called ``name`` (case-insensitive); ``ValueError`` names the known ones.

    ``queue_ahead`` (base units resting ahead of a new order) is the QUEUE model's
    parameter, to be calibrated from captured live fills.
    """
    try:
        model = FillModelName(str(name).upper())
    except ValueError:
        known = ", ".join(m.value for m in FillModelName)
        raise ValueError(f"fill model: unknown {name!r} (known: {known})") from None
    if model is FillModelName.QUEUE:
        return QueueFill(queue_ahead)
    return {FillModelName.OPTIMISTIC: OptimisticFill, FillModelName.CONSERVATIVE: ConservativeFill,
            FillModelName.PESSIMISTIC: PessimisticFill}[model]()
