"""Hostile input to a running venue: cross-site /admin requests, odd numbers, bad frames.

Raw HTTP and raw WebSocket frames, since pybit and a well-behaved client never send these:
a browser page's Origin, a rebound DNS name as Host, ``1e400`` in a JSON body, arguments
that are objects, JSON nested ten thousand deep.
"""

from __future__ import annotations

import json
import socket

import pytest
import requests
import websocket

from daemons.venue.server import RunningVenue

from .conftest import account
from .test_rest_raw import order_body, post
from .test_ws_pybit import raw_socket, recv_json

pytestmark = pytest.mark.timeout(60)


def admin_post(venue: RunningVenue, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{venue.base_url}/admin/{path}", headers=headers, timeout=5)


def is_paused(venue: RunningVenue) -> bool:
    return venue.call(lambda: venue.server.clock.paused)


FOREIGN = [  # a page's Origin gives a cross-site request away; a rebound DNS name its Host
    *[("Origin", o) for o in ("http://evil.example", "null", "https://127.0.0.1:{port}",
                              "http://127.0.0.1:1", "http://evil.example:{port}",
                              "http://127.0.0.1:{port}/path", "file://", "")],
    *[("Host", h) for h in ("evil.example:{port}", "evil.example", "127.0.0.1:1", "127.0.0.1",
                            "0.0.0.0:{port}", "evil@127.0.0.1:{port}", "127.0.0.1:{port}/x",
                            "127.0.0.1:{port}:1", "")],
]


@pytest.mark.parametrize(("header", "value"), FOREIGN)
def test_admin_request_with_a_foreign_origin_or_host_is_refused_403_before_acting(
    fresh_venue: RunningVenue, header: str, value: str,
) -> None:
    answer = admin_post(fresh_venue, "tape/pause",
                        {header: value.format(port=fresh_venue.server.port)})
    assert answer.status_code == 403 and header in answer.json()["error"]
    assert not is_paused(fresh_venue)


def test_admin_http10_request_without_host_header_is_refused_403(
    fresh_venue: RunningVenue,
) -> None:
    """HTTP/1.0 may omit Host (aiohttp refuses that only for 1.1): no Host, no admin."""
    with socket.create_connection(("127.0.0.1", fresh_venue.server.port), timeout=5) as sock:
        sock.sendall(b"POST /admin/tape/pause HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        status_line = sock.makefile("rb").readline()
    assert status_line.split()[1] == b"403"
    assert not is_paused(fresh_venue)


@pytest.mark.parametrize(("host", "origin"), [
    ("127.0.0.1:{port}", None), ("localhost:{port}", "http://localhost:{port}"),
    ("LOCALHOST.:{port}", "http://127.0.0.1:{port}"), ("127.0.0.2:{port}", None),
    ("[::1]:{port}", "http://[::1]:{port}"),
])
def test_admin_request_from_the_venue_itself_is_served(
    fresh_venue: RunningVenue, host: str, origin: str | None,
) -> None:
    port = fresh_venue.server.port
    headers = {"Host": host.format(port=port)}
    if origin is not None:
        headers["Origin"] = origin.format(port=port)
    assert admin_post(fresh_venue, "tape/pause", headers).status_code == 200
    assert is_paused(fresh_venue)


def test_admin_guard_leaves_rest_and_websocket_paths_alone(fresh_venue: RunningVenue) -> None:
    """Only /admin is guarded: Bybit's REST answers any Host (pybit sends its own)."""
    answer = requests.get(f"{fresh_venue.base_url}/v5/market/time", timeout=5,
                          headers={"Host": "api.bybit.com", "Origin": "http://evil.example"})
    assert answer.status_code == 200 and answer.json()["retCode"] == 0


@pytest.mark.parametrize("query", [{"stream": "bogus"}, {"stream": ""}, {"mode": "bogus"},
                                   {"stream": "PUBLIC"}])
def test_admin_ws_drop_unknown_stream_or_mode_is_refused_400(
    quiet_venue: RunningVenue, query: dict[str, str],
) -> None:
    answer = requests.post(f"{quiet_venue.base_url}/admin/ws/drop", params=query, timeout=5)
    assert answer.status_code == 400
    assert "stream must be one of all, public, private" in answer.json()["error"]


@pytest.mark.parametrize("body", [
    "[" * 10_000 + "]" * 10_000, '[{"side": "Sell", "price": 1e400, "size": 1}]',
    '[{"side": "Sell", "price": NaN, "size": 1}]', '[{"side": "Sell", "price": "1", "size": '
    + "[" * 50 + "]" * 50 + "}]",
])
def test_admin_inject_refuses_hostile_json_with_400(quiet_venue: RunningVenue, body: str) -> None:
    answer = requests.post(f"{quiet_venue.base_url}/admin/tape/trades", data=body.encode(),
                           timeout=5)
    assert answer.status_code == 400 and "error" in answer.json()


HOSTILE_BODIES = [
    json.dumps(order_body())[:-1] + ', "positionIdx": 1e400}',
    json.dumps(order_body(positionIdx=1)).replace('"positionIdx": 1', '"positionIdx": NaN'),
    json.dumps(order_body(positionIdx=1)).replace('"positionIdx": 1', '"positionIdx": -Infinity'),
    json.dumps(order_body()).replace('"qty": "0.001"', '"qty": 1e400'),
    json.dumps(order_body()).replace('"price": "1000.0"', '"price": 1e999'),
    json.dumps(order_body(positionIdx=1.5)),
    json.dumps(order_body(qty="1191")),
    json.dumps(order_body(orderType="Market", qty="500.001")),
    json.dumps(order_body(qty="1e999999999")),
    '{"category": ' + "[" * 10_000 + "]" * 10_000 + "}",
    '{"category": ' + "[" * 20 + "]" * 20 + "}",
]


@pytest.mark.parametrize("number", range(len(HOSTILE_BODIES)))
def test_rest_hostile_number_or_nesting_in_body_answers_10001_not_10016(
    quiet_venue: RunningVenue, number: int,
) -> None:
    body = HOSTILE_BODIES[number]  # spread over accounts: 10 orders a second each
    answer = post(quiet_venue, "/v5/order/create", body, account(7 + number % 4))
    assert answer.status_code == 200
    assert answer.json()["retCode"] == 10001, answer.json()


def test_rest_price_below_one_tick_answers_110003(quiet_venue: RunningVenue) -> None:
    """``1e-999999999`` is above zero but rounds to zero ticks: an order at price 0."""
    answer = post(quiet_venue, "/v5/order/create",
                  json.dumps(order_body(price="1e-999999999")), account(5))
    assert answer.json()["retCode"] == 110003


def authenticated(venue: RunningVenue) -> websocket.WebSocket:
    from .test_faults import private_socket

    return private_socket(venue, 6, [])


HOSTILE_FRAMES = [
    '{"op": "subscribe", "args": [{"a": 1}]}', '{"op": "subscribe", "args": [["x"]]}',
    '{"op": "subscribe", "args": {"a": 1}}', '{"op": "unsubscribe", "args": [true]}',
    '{"op": "subscribe", "args": "publicTrade.BTCUSDT"}', '{"op": {"a": 1}}',
    '{"op": "ping", "req_id": ["x"]}', '{"op": "auth", "args": ["k", 1e400, "s"]}',
    '{"op": "subscribe", "args": [NaN]}', "[" * 10_000 + "]" * 10_000,
    '{"op": "ping", "x": ' + "[" * 40 + "]" * 40 + "}", "[1, 2]", '"ping"', "42", "null",
    "not json", "",
]


@pytest.mark.parametrize("stream", ["public", "private"])
def test_ws_hostile_message_gets_bybits_decode_error_and_the_socket_stays_open(
    quiet_venue: RunningVenue, stream: str,
) -> None:
    sock = (raw_socket(quiet_venue, "/v5/public/linear") if stream == "public"
            else authenticated(quiet_venue))
    try:
        for frame in HOSTILE_FRAMES:
            sock.send(frame)
            reply = recv_json(sock)
            assert reply["success"] is False and reply["op"] == "" and reply["req_id"] == ""
            assert reply["ret_msg"].startswith("Failed to decode incoming data: "), frame[:40]
            assert reply["conn_id"]
        sock.send_binary(b"\xff\xfe")
        assert recv_json(sock)["ret_msg"].startswith("Failed to decode incoming data")
        sock.send(json.dumps({"op": "ping", "req_id": "still-here"}))
        assert recv_json(sock)["req_id"] == "still-here"
    finally:
        sock.close()
