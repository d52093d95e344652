"""The engine journal's event format round-trips every event type exactly."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from daemons.db.event_codec import KINDS, from_document, kind_of, to_document
from gridcore.events import (
    CoinBalance,
    ExecutionEvent,
    FundingEvent,
    OrderUpdateEvent,
    PositionEvent,
    PublicTradeEvent,
    TickerEvent,
    WalletEvent,
)

BASE = {"symbol": "BTCUSDT", "exchange_ts": 1_700_000_000_123, "local_ts": 1_700_000_000_125,
        "seq": 7, "user_id": None, "account_id": "a1", "run_id": None}
EVENTS = [
    TickerEvent(**BASE, last_price=Decimal("40000.10"), mark_price=Decimal("40000.2"),
                next_funding_time=1_700_000_100_000),
    PublicTradeEvent(**BASE, trade_id="t-1", side="Buy", price=Decimal("1.10"),
                     size=Decimal("0.001")),
    FundingEvent(**BASE, funding_rate=Decimal("-0.0001")),
    OrderUpdateEvent(**BASE, order_id="o", order_link_id="g1-LB1-2", side="Sell",
                     price=Decimal("5"), qty=Decimal("0.010"), order_status="New",
                     reduce_only=True, position_idx=1, stop_order_type=""),
    ExecutionEvent(**BASE, exec_id="e", order_id="o", order_link_id="", side="Buy",
                   exec_price=Decimal("5"), exec_qty=Decimal("1"), closed_size=Decimal("0.5")),
    PositionEvent(**BASE, position_idx=2, size=Decimal("3"), entry_price=Decimal("4.5"),
                  liq_price=None),
    WalletEvent(**{**BASE, "symbol": ""}, coins=(CoinBalance("USDT", Decimal("10.5"),
                                                             Decimal("10.5")),
                                                 CoinBalance("BTC", Decimal("0.1"),
                                                             Decimal("4000")))),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_event_codec_round_trips_through_json_exactly(event) -> None:
    text = json.dumps(to_document(event))
    back = from_document(kind_of(event), json.loads(text))
    assert back == event
    assert str(getattr(back, "qty", "")) == str(getattr(event, "qty", "")), "0.010 stays 0.010"


def test_event_codec_covers_every_event_type() -> None:
    assert set(KINDS) == {type(e) for e in EVENTS}


def test_event_codec_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        from_document("bogus", {})
