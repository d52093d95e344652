"""The private decoder (daemons/bybit/private.py) that capture and the trading daemon share:
official samples in, events with their extra columns and items out; a bad item refused
alone, another market's item dropped and named, an unreadable message refused whole."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from daemons.bybit import private
from daemons.bybit.rest import Page
from gridcore.events import ExecutionEvent, OrderUpdateEvent, PositionEvent, WalletEvent

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "bybit_samples"
LOCAL = 1_760_500_000_000  # after every sample (October 2025): times must not be future


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def linear_order() -> dict[str, Any]:
    """The official order push (an option order), made a linear one."""
    message = sample("ws_order")
    message["data"][0].update(category="linear", symbol="BTCUSDT")
    return message


@pytest.mark.parametrize(("message", "kind", "extra"), [
    (linear_order(), OrderUpdateEvent, "cum_exec_value"),
    (sample("ws_execution"), ExecutionEvent, "closed_pnl"),
    (sample("ws_position"), PositionEvent, "position_status"),
    (sample("ws_wallet"), WalletEvent, "total_initial_margin"),
], ids=["order", "execution", "position", "wallet"])
def test_decode_message_official_sample_gives_event_extras_and_item(
        message: dict[str, Any], kind: type, extra: str) -> None:
    batch = private.decode_message(message, LOCAL, "acc-1")
    (decoded,) = batch.decoded
    assert isinstance(decoded.event, kind) and decoded.event.account_id == "acc-1"
    assert extra in decoded.extras and decoded.item is message["data"][0]
    assert batch.message_ms == message["creationTime"]
    assert (batch.error, batch.refused, batch.other_categories) == (None, [], [])


def test_decode_message_bad_item_is_refused_alone_and_other_market_named() -> None:
    message = sample("ws_execution")
    good = message["data"][0]
    bad = {**copy.deepcopy(good), "execId": "bad", "execPrice": "abc"}
    spot = {**copy.deepcopy(good), "execId": "spot", "category": "spot"}
    last = {**copy.deepcopy(good), "execId": "last"}
    message["data"] = [good, bad, spot, last]
    batch = private.decode_message(message, LOCAL)
    assert [d.event.exec_id for d in batch.decoded] == [good["execId"], "last"]
    (refused,) = batch.refused
    assert refused.item is bad and refused.reason.startswith("execution.execPrice")
    assert batch.other_categories == ["spot"]


def test_decode_message_item_without_category_is_refused() -> None:
    """The all-in-one topics carry every market: an item naming none cannot be placed."""
    message = sample("ws_execution")
    del message["data"][0]["category"]
    batch = private.decode_message(message, LOCAL)
    assert batch.decoded == [] and batch.refused[0].reason.startswith("execution.category")


@pytest.mark.parametrize(("change", "error"), [
    ({"topic": "orderbook.1.BTCUSDT"}, "unexpected topic"),
    ({"creationTime": "soon"}, "execution.creationTime"),
    ({"data": {"execId": "x"}}, "execution.data"),
])
def test_decode_message_unreadable_message_is_refused_whole(
        change: dict[str, Any], error: str) -> None:
    batch = private.decode_message({**sample("ws_execution"), **change}, LOCAL)
    assert batch.error is not None and batch.error.startswith(error)
    assert batch.decoded == [] and batch.message_ms is None


def test_decode_page_item_without_category_takes_the_answers() -> None:
    body = sample("rest_execution_list")
    rows = body["result"]["list"]
    linear = private.decode_page("execution", Page(rows, "", LOCAL - 5, "linear"), LOCAL)
    spot = private.decode_page("execution", Page(rows, "", LOCAL - 5, "spot"), LOCAL)
    unnamed = private.decode_page("execution", Page(rows, "", LOCAL - 5, None), LOCAL)
    assert len(linear.decoded) == len(rows) == len(unnamed.decoded) > 0
    assert spot.decoded == [] and spot.other_categories == ["spot"] * len(rows)
    assert linear.message_ms == LOCAL - 5
