"""Every venue message has the keys and value types of Bybit's official sample of its kind.

The samples are copied from Bybit's documentation into ``tests/fixtures/bybit_samples``
(see its README). Where a sample is of another category (the order stream's is an
option, the position list's inverse), the linear message must still match key for key.
Kinds Bybit gives no sample of (errors, order history, cancel-all, fee rate, funding
history, unsubscribe and refusals, Funding executions) are compared with the nearest one.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from daemons.venue.auth import sign
from daemons.venue.clock import wall_ms
from daemons.venue.funding import settle_funding
from daemons.venue.server import RunningVenue
from daemons.venue.testing import pybit_http, start_test_venue, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "bybit_samples"
SYMBOL = "BTCUSDT"
FREE_MAPS = {"cumFeeDetail"}  # coin -> amount maps: the coin differs by account
#: Paths below the message (list indices as ``[]``) where one side may be empty, and why.
EMPTY_OK: dict[str, str] = {
    "data[].extraFees": "the sample's extra fee is India's GST; no venue account pays "
                          "extra fees, and then the list is empty",
}


def assert_same_shape(ours: Any, sample: Any, where: str = "$", key: str = "") -> None:
    """Same keys and JSON types, recursively; every element of every list is checked.

    Our list elements are compared with the sample's first element (samples list one
    row). An empty list on one side only is a failure unless ``EMPTY_OK`` names the path
    and says why, so an empty answer cannot hide a shape.
    """
    if key in FREE_MAPS:
        assert isinstance(ours, dict), f"{where}: {type(ours).__name__}, sample has an object"
        kinds = {type(v).__name__ for v in ours.values()}
        assert kinds <= {type(v).__name__ for v in sample.values()}, f"{where}: {kinds}"
        return
    if isinstance(sample, dict):
        assert isinstance(ours, dict), f"{where}: {type(ours).__name__}, sample has an object"
        assert set(ours) == set(sample), (
            f"{where}: missing {sorted(set(sample) - set(ours))} "
            f"extra {sorted(set(ours) - set(sample))}"
        )
        for name in sample:
            assert_same_shape(ours[name], sample[name], f"{where}.{name}", name)
        return
    if isinstance(sample, list):
        assert isinstance(ours, list), f"{where}: {type(ours).__name__}, sample has a list"
        if bool(ours) != bool(sample):
            assert re.sub(r"\[\d+\]", "[]", where.partition(".")[2]) in EMPTY_OK, (
                f"{where}: {len(ours)} elements, sample {len(sample)}; nothing to compare")
        for i, item in enumerate(ours if sample else []):
            assert_same_shape(item, sample[0], f"{where}[{i}]", key)
        return
    assert type(ours).__name__ == type(sample).__name__, (
        f"{where}: {type(ours).__name__} != sample {type(sample).__name__}")


def load(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def captured() -> dict[str, Any]:
    """One scripted session: every REST answer and WebSocket push kind, raw."""
    venue = start_test_venue(2, seed=9, start_paused=True, latency_ms_median=1.0)
    try:
        yield _capture(venue)
    finally:
        venue.stop()


def _capture(venue: RunningVenue) -> dict[str, Any]:
    spec = venue.server.config.accounts[0]
    out: dict[str, Any] = {}
    public = websocket.create_connection(f"{venue.ws_base_url}/v5/public/linear", timeout=10)
    public.send(json.dumps({"op": "subscribe", "args": [f"publicTrade.{SYMBOL}",
                                                        f"tickers.{SYMBOL}"]}))
    out["ws_subscribe_response_linear"] = json.loads(public.recv())
    out["ws_ticker_linear"] = json.loads(public.recv())
    public.send(json.dumps({"op": "ping"}))
    requests.post(f"{venue.base_url}/admin/tape/trades", timeout=5,
                  json=[{"side": "Buy", "price": "99999.9", "size": "0.001"}]).raise_for_status()
    private = websocket.create_connection(f"{venue.ws_base_url}/v5/private", timeout=10)
    expires = int(time.time() * 1000) + 10_000
    signature = sign(spec.api_secret, f"GET/realtime{expires}".encode())
    private.send(json.dumps({"op": "auth", "args": [spec.api_key, expires, signature]}))
    out["ws_auth_response"] = json.loads(private.recv())
    private.send(json.dumps({"op": "subscribe",
                             "args": ["order", "execution", "position", "wallet"]}))
    out["ws_subscribe_response_private"] = json.loads(private.recv())
    private.send(json.dumps({"req_id": "test", "op": "ping"}))
    out["ws_pong_private"] = json.loads(private.recv())
    session = pybit_http(venue, spec)
    last = float(session.get_tickers(category="linear", symbol=SYMBOL)
                 ["result"]["list"][0]["lastPrice"])
    out["rest_place_order"] = session.place_order(
        category="linear", symbol=SYMBOL, side="Buy", orderType="Limit", qty="0.010",
        price=f"{last + 5:.1f}", positionIdx=1)
    resting = session.place_order(category="linear", symbol=SYMBOL, side="Buy",
                                  orderType="Limit", qty="0.010", price=f"{last - 50:.1f}",
                                  positionIdx=1)["result"]["orderId"]
    wait_for(lambda: session.get_executions(category="linear")["result"]["list"], what="fill")
    out["rest_open_orders"] = wait_for(lambda: (r := session.get_open_orders(
        category="linear", symbol=SYMBOL))["result"]["list"] and r, what="open order")
    out["rest_cancel_order"] = session.cancel_order(category="linear", symbol=SYMBOL,
                                                    orderId=resting)
    out["rest_execution_list"] = session.get_executions(category="linear")
    out["rest_position_list"] = session.get_positions(category="linear", symbol=SYMBOL)
    out["rest_wallet_balance"] = session.get_wallet_balance(accountType="UNIFIED")
    out["rest_server_time"] = session.get_server_time()
    out["rest_tickers"] = session.get_tickers(category="linear", symbol=SYMBOL)
    out["rest_instruments_info_linear"] = session.get_instruments_info(category="linear")
    out["rest_recent_trade"] = session.get_public_trade_history(category="linear",
                                                               symbol=SYMBOL)
    out["rest_kline"] = session.get_kline(category="linear", symbol=SYMBOL, interval="1")
    out["rest_order_history"] = session.get_order_history(category="linear", symbol=SYMBOL)
    out["rest_fee_rate"] = session.get_fee_rates(category="linear", symbol=SYMBOL)
    session.place_order(category="linear", symbol=SYMBOL, side="Buy", orderType="Limit",
                        qty="0.010", price=f"{last - 60:.1f}", positionIdx=1)
    wait_for(lambda: session.get_open_orders(category="linear", symbol=SYMBOL)
             ["result"]["list"], what="an order to cancel")
    out["rest_cancel_all"] = session.cancel_all_orders(category="linear", symbol=SYMBOL)
    out["rest_error"] = requests.get(f"{venue.base_url}/v5/market/kline", timeout=5, params={
        "category": "linear", "symbol": SYMBOL, "interval": "7"}).json()
    wanted = {"order", "execution", "position", "wallet"}
    while wanted - set(out):
        message = json.loads(private.recv())
        out.setdefault(message["topic"], message)
    for topic in ("order", "execution", "position", "wallet"):
        out[f"ws_{topic}"] = out.pop(topic)
    venue.call(lambda: _settle_funding_now(venue))
    out["ws_execution_funding"] = _next_funding_push(private)
    out["rest_funding_history"] = session.get_funding_rate_history(category="linear",
                                                                   symbol=SYMBOL)
    out["rest_execution_list_funding"] = session.get_executions(category="linear",
                                                                execType="Funding")
    while not {"ws_public_trade", "ws_pong_linear", "ticker_delta"} <= set(out):
        message = json.loads(public.recv())
        if message.get("op") == "ping":
            out["ws_pong_linear"] = message
        elif message.get("topic", "").startswith("publicTrade"):
            out["ws_public_trade"] = message
        elif message.get("type") == "delta":
            out["ticker_delta"] = message
    out.update(_refusals(venue, public, spec.api_key))
    public.close()
    private.close()
    return out


def _settle_funding_now(venue: RunningVenue) -> None:
    """Run the funding the tape would run at a boundary (the capture's tape is paused)."""
    core = venue.server.core
    settle_funding(core.engine, core.config.funding_rate, wall_ms())
    venue.server.publish()


def _next_funding_push(private: websocket.WebSocket) -> dict:
    while True:
        message = json.loads(private.recv())
        if message.get("topic") == "execution" and any(
                row["execType"] == "Funding" for row in message["data"]):
            return message


def _refusals(venue: RunningVenue, public: websocket.WebSocket, api_key: str) -> dict:
    """Unsubscribe acknowledgement, refused subscribe and refused private auth."""
    out = {}
    public.send(json.dumps({"op": "unsubscribe", "args": [f"publicTrade.{SYMBOL}"]}))
    out["ws_unsubscribe_response_linear"] = _next_reply(public, "unsubscribe")
    public.send(json.dumps({"op": "subscribe", "args": ["orderbook.1.NOPE"]}))
    out["ws_subscribe_failure_linear"] = _next_reply(public, "subscribe")
    private = websocket.create_connection(f"{venue.ws_base_url}/v5/private", timeout=10)
    expires = int(time.time() * 1000) + 10_000
    private.send(json.dumps({"op": "auth", "args": [api_key, expires, "0" * 64]}))
    out["ws_auth_failure"] = json.loads(private.recv())
    private.close()
    return out


def _next_reply(sock: websocket.WebSocket, op: str) -> dict:
    """The next acknowledgement of ``op``, skipping pushes still in flight."""
    while True:
        message = json.loads(sock.recv())
        if message.get("op") == op:
            return message


KINDS = [
    "rest_place_order", "rest_cancel_order", "rest_open_orders", "rest_execution_list",
    "rest_position_list", "rest_wallet_balance", "rest_server_time", "rest_tickers",
    "rest_instruments_info_linear", "rest_recent_trade", "rest_kline",
    "ws_public_trade", "ws_ticker_linear", "ws_order", "ws_execution", "ws_position",
    "ws_wallet", "ws_auth_response", "ws_pong_linear", "ws_pong_private",
    "ws_subscribe_response_linear", "ws_subscribe_response_private",
]


def _with_result(name: str, result: dict) -> dict:
    """A sample's envelope around another result."""
    return {**load(name), "result": result}


def _nearest_samples() -> dict[str, Any]:
    """Kinds Bybit publishes no sample of, each against the nearest official one.

    Built only from sample values, so the types are Bybit's: history rows are open-order
    rows; a cancel-all row is the cancel answer (plus the documented ``success`` flag); a
    fee rate has the execution's ``feeRate`` type; a funding row has the ticker's
    ``fundingRate`` and ``nextFundingTime`` types; an error is any envelope with an empty
    result; acknowledgements and refusals have the success shape; a Funding execution is
    an execution.
    """
    cancel = load("rest_cancel_order")["result"]
    execution = load("rest_execution_list")["result"]["list"][0]
    ticker = load("rest_tickers")["result"]["list"][0]
    return {
        "rest_order_history": load("rest_open_orders"),
        "rest_cancel_all": _with_result("rest_cancel_order", {"list": [cancel], "success": "1"}),
        "rest_fee_rate": _with_result("rest_execution_list", {"list": [{
            "symbol": execution["symbol"], "takerFeeRate": execution["feeRate"],
            "makerFeeRate": execution["feeRate"]}]}),
        "rest_funding_history": _with_result("rest_tickers", {
            "category": load("rest_tickers")["result"]["category"], "list": [{
                "symbol": ticker["symbol"], "fundingRate": ticker["fundingRate"],
                "fundingRateTimestamp": ticker["nextFundingTime"]}]}),
        "rest_error": _with_result("rest_server_time", {}),
        "rest_execution_list_funding": load("rest_execution_list"),
        "ws_unsubscribe_response_linear": load("ws_subscribe_response_linear"),
        "ws_subscribe_failure_linear": load("ws_subscribe_response_linear"),
        "ws_auth_failure": load("ws_auth_response"),
        "ws_execution_funding": load("ws_execution"),
    }


@pytest.mark.parametrize("kind", sorted(_nearest_samples()))
def test_kind_without_a_sample_matches_its_nearest_official_sample(
    captured: dict[str, Any], kind: str,
) -> None:
    assert_same_shape(captured[kind], _nearest_samples()[kind], kind)


def test_refusals_and_funding_are_what_they_claim(captured: dict[str, Any]) -> None:
    """The nearest-sample kinds are really the refusals and Funding rows they stand for."""
    assert captured["rest_error"]["retCode"] == 10001
    assert captured["rest_cancel_all"]["result"]["list"]  # a resting order was cancelled
    assert captured["ws_unsubscribe_response_linear"]["success"] is True
    for kind in ("ws_subscribe_failure_linear", "ws_auth_failure"):
        assert captured[kind]["success"] is False and captured[kind]["ret_msg"], kind
    rows = captured["ws_execution_funding"]["data"]
    rows += captured["rest_execution_list_funding"]["result"]["list"]
    assert rows and {row["execType"] for row in rows} == {"Funding"}
    assert captured["rest_funding_history"]["result"]["list"]


@pytest.mark.parametrize("kind", KINDS)
def test_message_kind_matches_official_sample_keys_and_types(
    captured: dict[str, Any], kind: str,
) -> None:
    assert_same_shape(captured[kind], load(kind), kind)


def test_shape_check_catches_a_string_where_a_number_belongs() -> None:
    sample = load("ws_public_trade")
    broken = json.loads(json.dumps(sample))
    broken["data"][0]["seq"] = "1783284617"
    with pytest.raises(AssertionError, match="seq"):
        assert_same_shape(broken, sample)
    del broken["data"][0]["BT"]
    with pytest.raises(AssertionError, match="missing"):
        assert_same_shape(broken, sample)


def test_shape_check_looks_at_every_element_and_refuses_unexplained_empty_lists() -> None:
    sample = load("rest_execution_list")
    two = json.loads(json.dumps(sample))
    two["result"]["list"].append(dict(two["result"]["list"][0], execQty=0.1))
    with pytest.raises(AssertionError, match=r"list\[1\]\.execQty"):
        assert_same_shape(two, sample)
    two["result"]["list"] = []
    with pytest.raises(AssertionError, match="0 elements, sample 1"):
        assert_same_shape(two, sample)


def test_ticker_delta_fields_are_snapshot_fields_with_same_types(
    captured: dict[str, Any],
) -> None:
    snapshot = load("ws_ticker_linear")["data"]
    delta = captured["ticker_delta"]
    assert delta["type"] == "delta" and set(delta["data"]) <= set(snapshot)
    for key, value in delta["data"].items():
        assert type(value) is type(snapshot[key]), key
