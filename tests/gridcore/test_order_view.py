"""The engine's order view: acknowledgements, final states, and rejected duplicates."""

from __future__ import annotations

from decimal import Decimal

from gridcore.events import OrderUpdateEvent
from gridcore.order_view import HeldOrder, OrderView


def _update(order_id: str, status: str, link: str = "gs1-LB1-0") -> OrderUpdateEvent:
    return OrderUpdateEvent(symbol="BTCUSDT", exchange_ts=1, local_ts=1, order_id=order_id,
                            order_link_id=link, side="Buy", price=Decimal("100"),
                            qty=Decimal("0.001"), order_status=status)


def _pending(link: str = "gs1-LB1-0") -> HeldOrder:
    return HeldOrder(order_id="", order_link_id=link, side="Buy", price=100.0, qty=0.001,
                     reduce_only=False, acknowledged=False)


def test_order_view_ack_then_cancel_removes_order() -> None:
    view = OrderView()
    view.add_pending(_pending())
    assert view.apply_update(_update("o1", "New"))
    assert view.orders["L:gs1-LB1-0"].acknowledged
    assert view.apply_update(_update("o1", "Cancelled"))
    assert not view.orders


def test_order_view_rejected_duplicate_link_id_keeps_resting_original() -> None:
    """A second order with the same link id is rejected; the first one still rests."""
    view = OrderView()
    view.add_pending(_pending())
    view.apply_update(_update("o1", "New"))
    assert not view.apply_update(_update("o2", "Rejected"))
    assert view.orders["L:gs1-LB1-0"].order_id == "o1"


def test_order_view_rejected_pending_placement_frees_it() -> None:
    view = OrderView()
    view.add_pending(_pending())
    assert view.apply_update(_update("o9", "Rejected"))
    assert not view.orders


def test_order_view_direction_follows_side_and_reduce_only() -> None:
    opening_buy = _pending()
    closing_sell = HeldOrder(order_id="", order_link_id="x", side="Sell", price=1.0, qty=1.0,
                             reduce_only=True, acknowledged=False)
    opening_sell = HeldOrder(order_id="", order_link_id="y", side="Sell", price=1.0, qty=1.0,
                             reduce_only=False, acknowledged=False)
    assert (opening_buy.direction, closing_sell.direction, opening_sell.direction) == (
        "long", "long", "short")
