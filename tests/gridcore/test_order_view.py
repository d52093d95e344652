"""The engine's order view: acknowledgements, final states, rejected duplicates, and only
plain limit orders held."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcore.events import SELL, OrderUpdateEvent
from gridcore.order_view import HeldOrder, OrderView
from tests.gridcore.conftest import (
    SYMBOL,
    T0,
    cancels,
    feed,
    make_engine,
    places,
    position,
    ticker,
)


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


# Rule 3.4.1 takes "this direction's open *limit* orders": a user's stop-loss, take-profit
# or market order on the symbol is not part of the grid (audit: a stop-loss was cancelled
# as "price is not a grid level" and counted in the closing-size guard).
NOT_GRID_ORDERS = [
    pytest.param("Market", "StopLoss", "Untriggered", "0", id="market-stop-loss-untriggered"),
    pytest.param("Limit", "TakeProfit", "Untriggered", "120", id="limit-take-profit-untriggered"),
    pytest.param("Limit", "Stop", "New", "95.55", id="triggered-conditional-limit"),
    pytest.param("Limit", "", "Untriggered", "95.55", id="untriggered-without-stop-type"),
    pytest.param("Market", "", "New", "0", id="plain-market"),
]


def _foreign(order_type: str, stop_type: str, status: str, price: str, *, qty: str = "0.1",
             order_id: str = "user-1") -> OrderUpdateEvent:
    """A user's reduce-only closing SELL on the long side, of the given kind."""
    return OrderUpdateEvent(symbol=SYMBOL, exchange_ts=T0, local_ts=T0, order_id=order_id,
                            order_link_id="", side=SELL, price=Decimal(price), qty=Decimal(qty),
                            order_status=status, reduce_only=True, position_idx=1,
                            order_type=order_type, stop_order_type=stop_type)


@pytest.mark.parametrize(("order_type", "stop_type", "status", "price"), NOT_GRID_ORDERS)
def test_order_view_never_holds_market_or_conditional_orders(order_type, stop_type, status,
                                                            price) -> None:
    view = OrderView()
    assert not view.apply_update(_foreign(order_type, stop_type, status, price))
    assert view.orders == {}


def test_order_view_plain_limit_update_is_held() -> None:
    """The contrast case: the same order as a plain limit order is part of the grid."""
    view = OrderView()
    assert view.apply_update(_foreign("Limit", "", "New", "95.55"))
    assert list(view.orders) == ["O:user-1"]


@pytest.mark.parametrize(("order_type", "stop_type", "status", "price"), NOT_GRID_ORDERS)
def test_engine_neither_cancels_nor_counts_market_or_conditional_orders(
        order_type, stop_type, status, price) -> None:
    """With a long position of 0.25 and a user's 0.2 reduce-only stop, the engine decides
    exactly as without the stop: it is not cancelled, the closing-size guard (rule 3.5) does
    not count it, and twenty of them do not trigger "too many open orders" (rule 3.4.2)."""
    def run(extra: list[OrderUpdateEvent]) -> list[object]:
        engine = make_engine()
        feed(engine, position(1, "0.25", 100), *extra)
        return feed(engine, ticker("100.0"), ticker("100.4", ts=T0 + 1))

    stops = [_foreign(order_type, stop_type, status, price, qty="0.2", order_id=f"user-{n}")
             for n in range(20)]
    assert run(stops) == run([])
    assert any(intent.reduce_only for intent in places(run([]))), "a closing order is placed"


def test_engine_cancels_a_foreign_plain_limit_order_off_the_grid() -> None:
    """The contrast case: a plain limit order off the grid is the engine's to cancel."""
    engine = make_engine()
    feed(engine, position(1, "0.25", 100), _foreign("Limit", "", "New", "95.55"))
    assert [c.order_id for c in cancels(engine.on_event(ticker("100.0")))] == ["user-1"]
