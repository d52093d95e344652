"""REST below pybit: raw bytes, malformed bodies, limits and headers on every answer.

pybit always sends well-formed, sorted, ``json.dumps``-encoded requests, so these tests
use ``requests`` directly to send what pybit never would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from daemons.venue import rest
from daemons.venue.auth import sign
from daemons.venue.config import AccountSpec
from daemons.venue.ratelimit import RateLimiter
from daemons.venue.server import RunningVenue

from .conftest import account

SYMBOL = "BTCUSDT"
LIMIT_HEADERS = ("X-Bapi-Limit", "X-Bapi-Limit-Status", "X-Bapi-Limit-Reset-Timestamp")


def _headers(spec: AccountSpec, signed: str, ts_ms: int | None = None) -> dict[str, str]:
    ts = str(ts_ms if ts_ms is not None else int(time.time() * 1000))
    signature = sign(spec.api_secret, f"{ts}{spec.api_key}5000{signed}".encode())
    return {"X-BAPI-API-KEY": spec.api_key, "X-BAPI-TIMESTAMP": ts,
            "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": signature,
            "Content-Type": "application/json"}


def post(venue: RunningVenue, path: str, body: str, spec: AccountSpec,
         signed: str | None = None, ts_ms: int | None = None) -> requests.Response:
    """POST ``body`` exactly as given, signed over ``signed`` (default: the body itself)."""
    headers = _headers(spec, body if signed is None else signed, ts_ms)
    return requests.post(venue.base_url + path, data=body.encode(), headers=headers, timeout=5)


def get(venue: RunningVenue, path: str, query: str, spec: AccountSpec,
        signed: str | None = None) -> requests.Response:
    """GET with ``query`` sent verbatim, signed over ``signed`` (default: the query)."""
    headers = _headers(spec, query if signed is None else signed)
    return requests.get(f"{venue.base_url}{path}?{query}", headers=headers, timeout=5)


def order_body(**extra: object) -> dict[str, object]:
    return {"category": "linear", "symbol": SYMBOL, "side": "Buy", "orderType": "Limit",
            "qty": "0.001", "price": "1000.0", "positionIdx": 1, **extra}


@pytest.mark.parametrize(("path", "body"), [
    ("/v5/order/cancel", {"category": "linear", "symbol": SYMBOL, "orderId": ["x"]}),
    ("/v5/order/cancel", {"category": "linear", "symbol": SYMBOL, "orderLinkId": 7}),
    ("/v5/order/create", order_body(reduceOnly="false")),
    ("/v5/order/create", order_body(reduceOnly=0)),
    ("/v5/order/create", order_body(positionIdx=True)),
    ("/v5/order/create", order_body(qty={"v": 1})),
    ("/v5/order/create", [order_body()]),
])
def test_malformed_body_gets_envelope_with_10001(
    quiet_venue: RunningVenue, path: str, body: object,
) -> None:
    answer = post(quiet_venue, path, json.dumps(body), account(1))
    assert answer.status_code == 200
    assert answer.json()["retCode"] == 10001
    assert set(answer.json()) == {"retCode", "retMsg", "result", "retExtInfo", "time"}


def test_reduce_only_false_boolean_opens_a_position(quiet_venue: RunningVenue) -> None:
    answer = post(quiet_venue, "/v5/order/create", json.dumps(order_body(reduceOnly=False)),
                  account(2)).json()
    assert answer["retCode"] == 0  # a reduce-only order with no position would get 110017
    order_id = answer["result"]["orderId"]
    order = quiet_venue.call(lambda: quiet_venue.server.core.accounts["acct2"].orders[order_id])
    assert order.reduce_only is False


@pytest.fixture
def broken_time_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def boom(call: object) -> dict:
        raise ZeroDivisionError("a bug in a handler")

    monkeypatch.setitem(rest.PUBLIC, ("GET", "/v5/market/time"), boom)
    yield


@pytest.mark.usefixtures("broken_time_endpoint")
def test_handler_bug_answers_10016_in_the_envelope(quiet_venue: RunningVenue) -> None:
    answer = requests.get(f"{quiet_venue.base_url}/v5/market/time", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["retCode"] == 10016


def test_admin_inject_refuses_non_json_with_400(quiet_venue: RunningVenue) -> None:
    url = f"{quiet_venue.base_url}/admin/tape/trades"
    assert requests.post(url, data=b"not json", timeout=5).status_code == 400
    bad_row = [{"side": "Up", "price": "1", "size": "1"}]
    assert requests.post(url, json=bad_row, timeout=5).status_code == 400


def test_signature_is_checked_over_the_raw_body_bytes(quiet_venue: RunningVenue) -> None:
    spec = account(3)
    odd = '{ "positionIdx":1,"price" :"1000.0",\n "qty":"0.001","orderType":"Limit",' \
          '"side":"Buy","symbol":"BTCUSDT",   "category":"linear"}'
    assert post(quiet_venue, "/v5/order/create", odd, spec).json()["retCode"] == 0
    reserialised = json.dumps(json.loads(odd))  # what a re-encoding server would check
    refused = post(quiet_venue, "/v5/order/create", odd, spec, signed=reserialised).json()
    assert refused["retCode"] == 10004
    compact = json.dumps(order_body(), separators=(",", ":"))
    assert post(quiet_venue, "/v5/order/create", compact, spec).json()["retCode"] == 0
    spaced = json.dumps(order_body())
    refused = post(quiet_venue, "/v5/order/create", compact, spec, signed=spaced).json()
    assert refused["retCode"] == 10004


def test_signature_is_checked_over_the_query_string_as_sent(quiet_venue: RunningVenue) -> None:
    spec = account(4)
    unsorted = f"symbol={SYMBOL}&category=linear"
    assert get(quiet_venue, "/v5/order/realtime", unsorted, spec).json()["retCode"] == 0
    resorted = f"category=linear&symbol={SYMBOL}"
    refused = get(quiet_venue, "/v5/order/realtime", unsorted, spec, signed=resorted).json()
    assert refused["retCode"] == 10004


def test_timestamp_more_than_a_second_ahead_is_refused(quiet_venue: RunningVenue) -> None:
    spec = account(5)
    body = json.dumps(order_body())
    ahead = int(time.time() * 1000) + 2000
    answer = post(quiet_venue, "/v5/order/create", body, spec, ts_ms=ahead).json()
    assert answer["retCode"] == 10002
    behind = int(time.time() * 1000) - 1000  # inside recv_window: accepted
    assert post(quiet_venue, "/v5/order/create", body, spec, ts_ms=behind).json()["retCode"] == 0


@pytest.mark.parametrize(("path", "limit"), [
    ("/v5/order/cancel", 10), ("/v5/order/cancel-all", 10),
    ("/v5/order/realtime", 50), ("/v5/execution/list", 50),
])
def test_rate_limiter_allows_limit_per_rolling_second(path: str, limit: int) -> None:
    limiter = RateLimiter(order_per_s=10, query_per_s=50)
    verdicts = [limiter.hit(1, path, 1000 + n) for n in range(limit + 1)]
    assert [v.allowed for v in verdicts] == [True] * limit + [False]
    assert verdicts[-1].reset_ms == 2000  # when the first counted request leaves
    assert limiter.hit(1, path, 2000).allowed  # ... and then there is room again
    assert limiter.hit(2, path, 1100).allowed  # another account has its own budget


def _until_refused(send: object, tries: int) -> list[requests.Response]:
    answers = []
    for _ in range(tries):
        answers.append(send())  # type: ignore[operator]
        if answers[-1].json()["retCode"] == 10006:
            break
    return answers


@pytest.mark.parametrize(("number", "path", "limit"), [
    (6, "/v5/order/cancel", 10), (7, "/v5/order/realtime", 50),
])
def test_cancel_and_query_limits_end_in_10006_with_headers(
    quiet_venue: RunningVenue, number: int, path: str, limit: int,
) -> None:
    spec = account(number)
    if path == "/v5/order/cancel":
        body = json.dumps({"category": "linear", "symbol": SYMBOL, "orderId": "none"})
        answers = _until_refused(lambda: post(quiet_venue, path, body, spec), 4 * limit)
        assert {a.json()["retCode"] for a in answers[:-1]} == {110001}
    else:
        answers = _until_refused(
            lambda: get(quiet_venue, path, "category=linear", spec), 4 * limit)
        assert {a.json()["retCode"] for a in answers[:-1]} == {0}
    assert answers[-1].json()["retCode"] == 10006 and len(answers) >= limit + 1
    assert {a.headers["X-Bapi-Limit"] for a in answers} == {str(limit)}
    assert answers[-1].headers["X-Bapi-Limit-Status"] == "0"
    statuses = [int(a.headers["X-Bapi-Limit-Status"]) for a in answers]
    assert statuses[0] == limit - 1


def test_limit_headers_on_public_answers_and_auth_refusals(quiet_venue: RunningVenue) -> None:
    spec = account(8)
    stranger = AccountSpec("x", "no-such-key", "whatever")
    wrong_secret = AccountSpec("y", spec.api_key, "not-the-secret")
    answers = {
        0: requests.get(f"{quiet_venue.base_url}/v5/market/time", timeout=5),
        10003: get(quiet_venue, "/v5/order/realtime", "category=linear", stranger),
        10004: get(quiet_venue, "/v5/order/realtime", "category=linear", wrong_secret),
    }
    for code, answer in answers.items():
        assert answer.json()["retCode"] == code
        assert all(name in answer.headers for name in LIMIT_HEADERS)
        assert answer.headers["X-Bapi-Limit"] == "600"  # the address limit counted it
    private = get(quiet_venue, "/v5/order/realtime", "category=linear", spec)
    assert private.headers["X-Bapi-Limit"] == "50"
