"""The queue rule end to end: pybit order, admin-injected tape, private fills."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from daemons.venue.server import RunningVenue
from daemons.venue.testing import pybit_http, start_test_venue, wait_for

SYMBOL = "BTCUSDT"


@pytest.fixture
def known_queue_venue() -> Iterator[RunningVenue]:
    """Paused tape, no latency, exactly 1.000 BTC resting at every price."""
    venue = start_test_venue(1, start_paused=True, latency_ms_median=0.0,
                             depth_median_qty=1.0, depth_sigma=0.0, depth_growth_per_tick=0.0)
    yield venue
    venue.stop()


def test_order_behind_known_queue_fills_after_queue_volume_and_on_trade_through(
    known_queue_venue: RunningVenue,
) -> None:
    venue = known_queue_venue
    session = pybit_http(venue, venue.server.config.accounts[0])
    last = Decimal(session.get_tickers(category="linear", symbol=SYMBOL)
                   ["result"]["list"][0]["bid1Price"])
    price = last - 20

    def tape(side: str, at: Decimal, size: str) -> None:
        requests.post(f"{venue.base_url}/admin/tape/trades", timeout=5, json=[
            {"side": side, "price": str(at), "size": size}]).raise_for_status()

    def filled() -> Decimal:
        rows = session.get_executions(category="linear")["result"]["list"]
        return sum((Decimal(r["execQty"]) for r in rows), Decimal(0))

    order = session.place_order(category="linear", symbol=SYMBOL, side="Buy", orderType="Limit",
                                qty="0.300", price=f"{price:.1f}", positionIdx=1)["result"]
    wait_for(lambda: session.get_open_orders(category="linear", symbol=SYMBOL)
             ["result"]["list"][0]["orderStatus"] == "New", what="order live")
    tape("Sell", price, "0.6")
    tape("Sell", price, "0.4")
    assert filled() == 0  # the 1.000 BTC ahead has just been consumed
    tape("Sell", price, "0.1")
    assert filled() == Decimal("0.1")
    tape("Sell", price - Decimal("0.1"), "0.001")  # trades through: the rest at once
    assert filled() == Decimal("0.3")
    rows = session.get_order_history(category="linear", orderId=order["orderId"])
    assert rows["result"]["list"][0]["orderStatus"] == "Filled"
    recent = session.get_public_trade_history(category="linear", symbol=SYMBOL, limit=10)
    own = [t for t in recent["result"]["list"] if t["price"] == f"{price:.2f}"]
    assert sum(Decimal(t["size"]) for t in own) == Decimal("1.3")  # 1.1 at price + 0.2 own
