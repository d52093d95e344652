"""Every venue message has the keys and value types of Bybit's official sample of its kind.

The samples are copied from Bybit's documentation into ``tests/fixtures/bybit_samples``
(see its README). Where a sample is of another category (the order stream's is an
option, the position list's inverse), the linear message must still match key for key.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from daemons.venue.auth import sign
from daemons.venue.server import RunningVenue
from daemons.venue.testing import pybit_http, start_test_venue, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "bybit_samples"
SYMBOL = "BTCUSDT"
FREE_MAPS = {"cumFeeDetail"}  # coin -> amount maps: the coin differs by account


def shape(value: Any, key: str = "") -> Any:
    """Keys and JSON types, recursively; lists by their first element."""
    if isinstance(value, dict):
        if key in FREE_MAPS:
            return {"*": sorted({type(v).__name__ for v in value.values()})}
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return ["list", shape(value[0], key)] if value else ["list"]
    return type(value).__name__


def assert_same_shape(ours: Any, sample: Any, where: str = "$", key: str = "") -> None:
    got, want = shape(ours, key), shape(sample, key)
    if key in FREE_MAPS:
        assert got == want, f"{where}: {got!r} != sample {want!r}"
        return
    if isinstance(want, dict) and isinstance(got, dict):
        assert set(got) == set(want), (
            f"{where}: missing {sorted(set(want) - set(got))} extra {sorted(set(got) - set(want))}"
        )
        for name in want:
            if want[name] == ["list"] or got[name] == ["list"]:
                assert isinstance(ours[name], list), f"{where}.{name} not a list"
                continue
            assert_same_shape(ours[name], sample[name], f"{where}.{name}", name)
        return
    if isinstance(want, list) and isinstance(got, list) and len(want) == 2 and len(got) == 2:
        assert_same_shape(ours[0], sample[0], f"{where}[0]", key)
        return
    assert got == want, f"{where}: {got!r} != sample {want!r}"


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
    wanted = {"order", "execution", "position", "wallet"}
    while wanted - set(out):
        message = json.loads(private.recv())
        out.setdefault(message["topic"], message)
    for topic in ("order", "execution", "position", "wallet"):
        out[f"ws_{topic}"] = out.pop(topic)
    while not {"ws_public_trade", "ws_pong_linear", "ticker_delta"} <= set(out):
        message = json.loads(public.recv())
        if message.get("op") == "ping":
            out["ws_pong_linear"] = message
        elif message.get("topic", "").startswith("publicTrade"):
            out["ws_public_trade"] = message
        elif message.get("type") == "delta":
            out["ticker_delta"] = message
    public.close()
    private.close()
    return out


KINDS = [
    "rest_place_order", "rest_cancel_order", "rest_open_orders", "rest_execution_list",
    "rest_position_list", "rest_wallet_balance", "rest_server_time", "rest_tickers",
    "rest_instruments_info_linear", "rest_recent_trade", "rest_kline",
    "ws_public_trade", "ws_ticker_linear", "ws_order", "ws_execution", "ws_position",
    "ws_wallet", "ws_auth_response", "ws_pong_linear", "ws_pong_private",
    "ws_subscribe_response_linear", "ws_subscribe_response_private",
]


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


def test_ticker_delta_fields_are_snapshot_fields_with_same_types(
    captured: dict[str, Any],
) -> None:
    snapshot = load("ws_ticker_linear")["data"]
    delta = captured["ticker_delta"]
    assert delta["type"] == "delta" and set(delta["data"]) <= set(snapshot)
    for key, value in delta["data"].items():
        assert type(value) is type(snapshot[key]), key
