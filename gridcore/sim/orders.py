"""A simulated resting order; fill-model state rides on the order, never in the model."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(slots=True)
class SimOrder:
    """One order resting in the simulated book.

    ``active_ts`` is when it can first fill (placement time plus modelled latency).
    ``volume_seen`` and ``queue_ahead`` are scratch space for volume- and queue-based
    fill models.
    """

    order_id: str
    order_link_id: str
    side: str
    price: Decimal
    price_f: float
    qty: Decimal
    leaves_qty: Decimal
    reduce_only: bool
    position_idx: int
    placed_ts: int
    active_ts: int
    volume_seen: float = 0.0
    queue_ahead: float = 0.0
