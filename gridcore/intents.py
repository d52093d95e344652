"""Intents: what the engine wants done, for a live worker or a simulated broker to carry out.

The engine never talks to an exchange; it returns intents. The live worker turns them into
REST calls, the backtest's broker into simulated orders, so both modes run the same
decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridcore.events import SELL, OrderUpdateEvent

LONG = "long"
SHORT = "short"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceLimitIntent:
    """Place a limit order at a grid level.

    ``client_order_id`` is sent as Bybit's ``orderLinkId`` and decodes back to
    (strategy, direction, side, price in ticks, sequence); ``position_idx`` is 1 for the
    long side and 2 for the short side of the hedge-mode position.
    """

    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    reduce_only: bool
    position_idx: int
    client_order_id: str
    grid_level: int
    direction: str

    def refused(self, ts: int, reason: str, seq: int = 0) -> OrderUpdateEvent:
        """The order update that tells the engine this placement was refused, as Bybit
        reports a rejection: by the exchange, by the live runtime's own checks before
        sending (deviations page), or by the simulated broker."""
        return OrderUpdateEvent(
            symbol=self.symbol, exchange_ts=ts, local_ts=ts, seq=seq, order_id="",
            order_link_id=self.client_order_id, side=self.side, price=self.price,
            qty=self.qty, order_status="Rejected", reduce_only=self.reduce_only,
            position_idx=self.position_idx, leaves_qty=Decimal(0), reject_reason=reason[:200])


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelIntent:
    """Cancel one order, by exchange id when known, else by client id; says why."""

    symbol: str
    order_id: str | None
    client_order_id: str | None
    reason: str


Intent = PlaceLimitIntent | CancelIntent


def is_closing(direction: str, side: str) -> bool:
    """Rule 3.5: a long SELL or a short BUY closes a position (reduce-only)."""
    return (direction == LONG) == (side == SELL)
