"""The admin fault interface: each fault acts, is scoped, and ends."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import websocket
from pybit.exceptions import FailedRequestError, InvalidRequestError

from daemons.venue.auth import sign
from daemons.venue.server import RunningVenue
from daemons.venue.testing import pybit_http, pybit_ws, wait_for

SYMBOL = "BTCUSDT"
pytestmark = pytest.mark.timeout(60)  # a dead pybit stream must fail, not hang


def admin(venue: RunningVenue, path: str, **params: object) -> dict:
    answer = requests.post(f"{venue.base_url}/admin/{path}", params=params, timeout=5)
    answer.raise_for_status()
    return answer.json()


def spec(venue: RunningVenue, number: int):  # noqa: ANN201 - AccountSpec
    return venue.server.config.accounts[number - 1]


def test_http_5xx_fault_fails_requests_then_ends(fresh_venue: RunningVenue) -> None:
    session = pybit_http(fresh_venue, spec(fresh_venue, 1))
    admin(fresh_venue, "faults/http_5xx", seconds=1.5, status=502)
    with pytest.raises(FailedRequestError) as err:
        session.get_wallet_balance(accountType="UNIFIED")
    assert err.value.status_code == 502
    wait_for(lambda: requests.get(f"{fresh_venue.base_url}/v5/market/time").status_code == 200,
             what="fault expiry")
    assert session.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0


def test_rate_limit_and_auth_faults_hit_only_their_account(fresh_venue: RunningVenue) -> None:
    one = pybit_http(fresh_venue, spec(fresh_venue, 1))
    two = pybit_http(fresh_venue, spec(fresh_venue, 2))
    admin(fresh_venue, "faults/rate_limit", seconds=30, account="acct1")
    with pytest.raises(InvalidRequestError) as err:
        one.get_wallet_balance(accountType="UNIFIED")
    assert err.value.status_code == 10006
    assert two.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0
    admin(fresh_venue, "faults/auth_reject", seconds=30, account="key-acct2")
    with pytest.raises(InvalidRequestError) as err:
        two.get_wallet_balance(accountType="UNIFIED")
    assert err.value.status_code == 10003
    sock = websocket.create_connection(f"{fresh_venue.ws_base_url}/v5/private", timeout=10)
    expires = int(time.time() * 1000) + 5000
    account = spec(fresh_venue, 2)
    signature = sign(account.api_secret, f"GET/realtime{expires}".encode())
    sock.send(json.dumps({"op": "auth", "args": [account.api_key, expires, signature]}))
    assert json.loads(sock.recv())["success"] is False
    sock.close()
    assert requests.delete(f"{fresh_venue.base_url}/admin/faults").json()["cleared"] == 2
    assert one.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0


def test_ack_delay_holds_the_order_acknowledgement(fresh_venue: RunningVenue) -> None:
    session = pybit_http(fresh_venue, spec(fresh_venue, 3))
    admin(fresh_venue, "faults/ack_delay", seconds=30, ms=400)
    started = time.monotonic()
    session.place_order(category="linear", symbol=SYMBOL, side="Buy", orderType="Limit",
                        qty="0.001", price="1000.0", positionIdx=1)
    assert time.monotonic() - started >= 0.4


def test_pause_stops_the_tape_and_resume_restarts_it(fresh_venue: RunningVenue) -> None:
    def played() -> int:
        return fresh_venue.call(lambda: fresh_venue.server.driver.fed)

    wait_for(lambda: played() > 0, what="tape running")
    admin(fresh_venue, "tape/pause")
    frozen = played()
    time.sleep(0.3)
    assert played() == frozen
    admin(fresh_venue, "tape/resume")
    wait_for(lambda: played() > frozen, what="tape resumed")


def test_drop_cuts_sockets_and_pybit_reconnects_and_resubscribes(
    fresh_venue: RunningVenue,
) -> None:
    received: list[float] = []
    lock = threading.Lock()

    def on_trade(message: dict) -> None:
        with lock:
            received.append(time.monotonic())

    ws = pybit_ws(fresh_venue)
    try:
        ws.trade_stream(symbol=SYMBOL, callback=on_trade)
        wait_for(lambda: received, what="first trades")
        assert admin(fresh_venue, "ws/drop", stream="public")["dropped"] == 1
        dropped_at = time.monotonic()
        wait_for(lambda: any(t > dropped_at + 0.05 for t in received), timeout_s=20,
                 what="trades after reconnect")
    finally:
        ws.exit()


def test_stall_drop_mode_loses_messages_and_hold_mode_delays_them(
    fresh_venue: RunningVenue,
) -> None:
    admin(fresh_venue, "tape/pause")
    sock = websocket.create_connection(f"{fresh_venue.ws_base_url}/v5/public/linear",
                                       timeout=10)
    sock.send(json.dumps({"op": "subscribe", "args": [f"publicTrade.{SYMBOL}"]}))
    assert json.loads(sock.recv())["success"] is True

    def inject(price: str) -> None:
        requests.post(f"{fresh_venue.base_url}/admin/tape/trades", timeout=5,
                      json=[{"side": "Buy", "price": price, "size": "0.001"}])

    admin(fresh_venue, "faults/stall_public", seconds=30, mode="drop")
    inject("11111.1")
    requests.delete(f"{fresh_venue.base_url}/admin/faults/stall_public")
    admin(fresh_venue, "faults/stall_public", seconds=30, mode="hold")
    inject("22222.2")
    sock.settimeout(0.5)
    with pytest.raises(websocket.WebSocketTimeoutException):
        sock.recv()  # held while the stall lasts
    requests.delete(f"{fresh_venue.base_url}/admin/faults/stall_public", timeout=5)
    sock.settimeout(10)
    message = json.loads(sock.recv())
    assert [t["p"] for t in message["data"]] == ["22222.20"]  # the dropped one never came
    sock.close()


@pytest.mark.parametrize("query", [
    {"status": "abc"}, {"mode": "foo"}, {"ms": "3"}, {"seconds": "nan"}, {"account": "nobody"},
])
def test_admin_refuses_bad_fault_options_with_400(quiet_venue: RunningVenue, query: dict) -> None:
    kind = "stall_public" if "mode" in query else "http_5xx"
    answer = requests.post(f"{quiet_venue.base_url}/admin/faults/{kind}", params=query, timeout=5)
    assert answer.status_code == 400 and "error" in answer.json()
    assert requests.get(f"{quiet_venue.base_url}/admin/status", timeout=5).json()["faults"] == []


def test_admin_fault_with_zero_seconds_ends_at_once(quiet_venue: RunningVenue) -> None:
    admin(quiet_venue, "faults/http_5xx", seconds=0)
    assert requests.get(f"{quiet_venue.base_url}/v5/market/time", timeout=5).status_code == 200


def private_socket(venue: RunningVenue, number: int, topics: list[str]) -> websocket.WebSocket:
    """A raw private socket of account ``number``, authenticated and subscribed."""
    account = spec(venue, number)
    sock = websocket.create_connection(f"{venue.ws_base_url}/v5/private", timeout=10)
    expires = int(time.time() * 1000) + 5000
    signature = sign(account.api_secret, f"GET/realtime{expires}".encode())
    sock.send(json.dumps({"op": "auth", "args": [account.api_key, expires, signature]}))
    assert json.loads(sock.recv())["success"] is True
    if topics:
        sock.send(json.dumps({"op": "subscribe", "args": topics}))
        assert json.loads(sock.recv())["success"] is True
    return sock


def answers_ping(sock: websocket.WebSocket) -> bool:
    sock.send(json.dumps({"op": "ping"}))
    return "pong" in sock.recv()


def test_drop_for_one_account_cuts_only_its_private_sockets(fresh_venue: RunningVenue) -> None:
    mine, other = private_socket(fresh_venue, 1, []), private_socket(fresh_venue, 2, [])
    public = websocket.create_connection(f"{fresh_venue.ws_base_url}/v5/public/linear",
                                         timeout=10)
    try:
        assert admin(fresh_venue, "ws/drop", account="acct1")["dropped"] == 1
        with pytest.raises((websocket.WebSocketException, ConnectionError, OSError)):
            answers_ping(mine)
        assert answers_ping(other) and answers_ping(public)
    finally:
        for sock in (mine, other, public):
            sock.close()


def test_stall_private_for_one_account_holds_only_its_stream(fresh_venue: RunningVenue) -> None:
    stalled, free = private_socket(fresh_venue, 3, ["order"]), private_socket(
        fresh_venue, 4, ["order"])
    try:
        admin(fresh_venue, "faults/stall_private", seconds=30, mode="hold", account="acct3")
        for number in (3, 4):
            pybit_http(fresh_venue, spec(fresh_venue, number)).place_order(
                category="linear", symbol=SYMBOL, side="Buy", orderType="Limit",
                qty="0.001", price="1000.0", positionIdx=1)
        assert json.loads(free.recv())["topic"] == "order"
        stalled.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            stalled.recv()
        requests.delete(f"{fresh_venue.base_url}/admin/faults/stall_private", timeout=5)
        stalled.settimeout(10)
        assert json.loads(stalled.recv())["topic"] == "order"  # held, not lost
    finally:
        stalled.close()
        free.close()
