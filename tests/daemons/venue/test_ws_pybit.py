"""pybit's WebSocket client and a raw socket against the venue's two streams."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest
import websocket

from daemons.venue.auth import sign
from daemons.venue.server import RunningVenue
from daemons.venue.testing import pybit_http, pybit_ws, wait_for, wait_subscribed

from .conftest import account

SYMBOL = "BTCUSDT"
pytestmark = pytest.mark.timeout(60)  # a dead pybit stream must fail, not hang


class Inbox:
    """Collects callback messages by topic; callbacks must never raise (pybit rule)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_topic: dict[str, list[dict]] = {}

    def __call__(self, message: dict) -> None:
        with self.lock:
            self.by_topic.setdefault(message.get("topic", ""), []).append(dict(message))

    def get(self, topic: str) -> list[dict]:
        with self.lock:
            return list(self.by_topic.get(topic, []))


def raw_socket(venue: RunningVenue, path: str) -> websocket.WebSocket:
    return websocket.create_connection(f"{venue.ws_base_url}{path}", timeout=10)


def recv_json(sock: websocket.WebSocket) -> dict:
    return json.loads(sock.recv())


def test_public_stream_delivers_trades_and_ticker_to_pybit(live_venue: RunningVenue) -> None:
    inbox = Inbox()
    ws = pybit_ws(live_venue)
    try:
        ws.trade_stream(symbol=SYMBOL, callback=inbox)
        ws.ticker_stream(symbol=SYMBOL, callback=inbox)
        wait_for(lambda: len(inbox.get(f"publicTrade.{SYMBOL}")) >= 3, what="trades")
        wait_for(lambda: len(inbox.get(f"tickers.{SYMBOL}")) >= 2, what="ticker updates")
    finally:
        ws.exit()
    trade = inbox.get(f"publicTrade.{SYMBOL}")[0]["data"][0]
    assert trade["s"] == SYMBOL and trade["S"] in ("Buy", "Sell") and isinstance(trade["T"], int)
    ticker = inbox.get(f"tickers.{SYMBOL}")[-1]["data"]
    assert Decimal(ticker["ask1Price"]) > Decimal(ticker["bid1Price"])


def test_private_streams_report_order_execution_position_wallet(
    quiet_venue: RunningVenue,
) -> None:
    spec = account(9)
    inbox = Inbox()
    ws = pybit_ws(quiet_venue, spec)
    try:
        for stream in (ws.order_stream, ws.execution_stream, ws.position_stream,
                       ws.wallet_stream):
            stream(callback=inbox)
        wait_for(lambda: ws.auth, what="auth")
        wait_subscribed(quiet_venue, "private", {"order", "execution", "position", "wallet"})
        session = pybit_http(quiet_venue, spec)
        last = Decimal(session.get_tickers(category="linear", symbol=SYMBOL)
                       ["result"]["list"][0]["lastPrice"])
        placed = session.place_order(category="linear", symbol=SYMBOL, side="Buy",
                                     orderType="Limit", qty="0.005", price=f"{last + 10:.1f}",
                                     positionIdx=1)["result"]
        wait_for(lambda: inbox.get("execution") and inbox.get("wallet")
                 and inbox.get("position"), what="private pushes")
        wait_for(lambda: any(d["orderStatus"] == "Filled" for m in inbox.get("order")
                             for d in m["data"]), what="filled order")
    finally:
        ws.exit()
    execution = inbox.get("execution")[0]["data"][0]
    assert execution["orderId"] == placed["orderId"] and execution["isMaker"] is False
    long = [d for m in inbox.get("position") for d in m["data"] if d["positionIdx"] == 1][-1]
    assert long["size"] == "0.005"


def test_public_text_ping_and_protocol_ping_are_answered(quiet_venue: RunningVenue) -> None:
    sock = raw_socket(quiet_venue, "/v5/public/linear")
    try:
        sock.send(json.dumps({"req_id": "100001", "op": "ping"}))
        pong = recv_json(sock)
        assert pong["op"] == "ping" and pong["ret_msg"] == "pong" and pong["success"] is True
        sock.ping("hello")
        opcode, frame = sock.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_PONG and frame.data == b"hello"
    finally:
        sock.close()


def test_private_auth_with_bad_signature_is_refused(quiet_venue: RunningVenue) -> None:
    spec = account(10)
    sock = raw_socket(quiet_venue, "/v5/private")
    try:
        expires = int(time.time() * 1000) + 5000
        sock.send(json.dumps({"op": "auth", "args": [spec.api_key, expires, "0" * 64]}))
        reply = recv_json(sock)
        assert reply["op"] == "auth" and reply["success"] is False
        sock.send(json.dumps({"op": "subscribe", "args": ["order"]}))
        assert recv_json(sock)["success"] is False  # not authenticated
        good = sign(spec.api_secret, f"GET/realtime{expires}".encode())
        sock.send(json.dumps({"req_id": "a1", "op": "auth", "args": [spec.api_key, expires, good]}))
        assert recv_json(sock)["success"] is True
        sock.send(json.dumps({"op": "ping", "req_id": "p1"}))
        pong = recv_json(sock)
        assert pong["op"] == "pong" and pong["req_id"] == "p1" and pong["args"][0].isdigit()
    finally:
        sock.close()


def test_public_subscribe_unknown_topic_is_refused(quiet_venue: RunningVenue) -> None:
    sock = raw_socket(quiet_venue, "/v5/public/linear")
    try:
        sock.send(json.dumps({"req_id": "s1", "op": "subscribe",
                              "args": ["orderbook.1.BTCUSDT"]}))
        reply = recv_json(sock)
        assert reply["success"] is False and reply["req_id"] == "s1"
        assert "orderbook.1.BTCUSDT" in reply["ret_msg"]
    finally:
        sock.close()


def test_every_key_of_an_account_signs_rest_and_websocket_auth() -> None:
    from daemons.venue.config import AccountSpec, VenueConfig
    from daemons.venue.server import start_venue
    from tests.fixtures.secrets import make_secret_text

    spec = AccountSpec("multi", "key-a", make_secret_text(),
                       more_keys=(("key-b", make_secret_text()),))
    second = AccountSpec("multi", "key-b", spec.more_keys[0][1])
    assert spec.more_keys[0][1] not in repr(spec)
    venue = start_venue(VenueConfig(accounts=(spec,), start_paused=True, seed=3))
    try:
        balances = [pybit_http(venue, s).get_wallet_balance(accountType="UNIFIED")
                    for s in (spec, second)]
        assert balances[0]["result"] == balances[1]["result"]
        sock = raw_socket(venue, "/v5/private")
        try:
            expires = int(time.time() * 1000) + 5000
            wrong = sign(spec.api_secret, f"GET/realtime{expires}".encode())
            sock.send(json.dumps({"op": "auth", "args": ["key-b", expires, wrong]}))
            assert recv_json(sock)["success"] is False  # each key has its own secret
            good = sign(second.api_secret, f"GET/realtime{expires}".encode())
            sock.send(json.dumps({"op": "auth", "args": ["key-b", expires, good]}))
            assert recv_json(sock)["success"] is True
        finally:
            sock.close()
    finally:
        venue.stop()


def test_ticker_topic_is_a_snapshot_then_deltas_about_every_100_ms(
    live_venue: RunningVenue,
) -> None:
    """Behaviour, not speed: deltas follow a snapshot on Bybit's ~100 ms cadence. The band
    is wide (a loaded machine delays pushes; a quiet 100 ms sends no delta) but a cadence
    of 10 ms or 1 s, or deltas before the snapshot, fail it."""
    sock = raw_socket(live_venue, "/v5/public/linear")
    try:
        sock.send(json.dumps({"op": "subscribe", "args": [f"tickers.{SYMBOL}"]}))
        assert recv_json(sock)["success"] is True
        kinds, arrivals = [], []
        while len(kinds) < 21:
            message = recv_json(sock)
            kinds.append(message["type"])
            arrivals.append(message["ts"])  # when the venue sent it: a starved reader
    finally:                                # would see queued deltas back to back
        sock.close()
    assert kinds == ["snapshot"] + ["delta"] * 20
    gaps_ms = sorted(b - a for a, b in zip(arrivals[1:], arrivals[2:], strict=False))
    median = gaps_ms[len(gaps_ms) // 2]
    assert 60 <= median <= 250, gaps_ms
