"""The one trade record every tape source yields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade.

    ``side`` is the taker's side (``"Buy"`` or ``"Sell"``) as Bybit reports it; ``price``
    and ``size`` are floats because tape sources are hot loops (a day of generated
    trades is more than a million records) and consumers round to their tick and lot.
    """

    ts_ms: int
    trade_id: str
    side: str
    price: float
    size: float
