"""A placement the exchange refuses at REST level (docs/deviations.md, "worth knowing").

A refused create (rate limit 10006, insufficient balance 110007, ...) never reaches the
order stream, so the engine would hold the placement as pending for ever. The live
worker's contract: answer the refusal with an OrderUpdateEvent for the intent's
``client_order_id`` with status ``Rejected`` (there is no exchange order id: it is empty).
"""

from __future__ import annotations

from gridcore.events import OrderUpdateEvent
from gridcore.intents import PlaceLimitIntent
from tests.gridcore.conftest import SYMBOL, T0, ack_all, make_engine, placed, places, ticker


def refused(intent: PlaceLimitIntent, ts: int = T0) -> OrderUpdateEvent:
    """What the live worker feeds back when REST refused ``intent``."""
    return OrderUpdateEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts, order_id="",
        order_link_id=intent.client_order_id, side=intent.side, price=intent.price,
        qty=intent.qty, order_status="Rejected", reduce_only=intent.reduce_only,
        reject_reason="EC_RateLimit",
    )


def test_refused_placement_fed_back_as_rejected_is_placed_again() -> None:
    engine = make_engine()
    first = places(engine.on_event(ticker("100.0")))
    refused_one, accepted = first[0], first[1:]
    ack_all(engine, accepted)
    engine.on_event(refused(refused_one))
    again = engine.on_event(ticker("100.0", ts=T0 + 1))
    assert placed(again) == placed([refused_one])


def test_refused_placement_not_fed_back_is_held_for_ever() -> None:
    """Why the contract exists: without the Rejected update the level stays empty."""
    engine = make_engine()
    first = places(engine.on_event(ticker("100.0")))
    ack_all(engine, first[1:])
    for step in range(1, 4):
        assert places(engine.on_event(ticker("100.0", ts=T0 + step))) == []
