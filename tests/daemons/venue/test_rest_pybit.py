"""pybit's HTTP client against the venue: orders, paging, positions, wallet, refusals."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from pybit.exceptions import InvalidRequestError

from daemons.venue.server import RunningVenue
from daemons.venue.testing import pybit_http, wait_for

from .conftest import account

SYMBOL = "BTCUSDT"


def _last(venue: RunningVenue) -> Decimal:
    return Decimal(venue.call(lambda: venue.server.core.market.price_str(
        venue.server.core.market.last_ticks)))


def _place(session, price: Decimal, side: str = "Buy", qty: str = "0.010", **extra) -> dict:
    idx = 1 if side == "Buy" else 2
    return session.place_order(category="linear", symbol=SYMBOL, side=side, orderType="Limit",
                               qty=qty, price=f"{price:.1f}", positionIdx=idx, **extra)


def test_order_create_then_cancel_shows_cancelled_in_history(quiet_venue: RunningVenue) -> None:
    session = pybit_http(quiet_venue, account(1))
    placed = _place(session, _last(quiet_venue) - 100, orderLinkId="grid-1")
    assert placed["retCode"] == 0 and placed["result"]["orderLinkId"] == "grid-1"
    order_id = placed["result"]["orderId"]
    wait_for(lambda: session.get_open_orders(category="linear", symbol=SYMBOL)["result"]["list"],
             what="order listed")
    cancelled = session.cancel_order(category="linear", symbol=SYMBOL, orderId=order_id)
    assert cancelled["result"] == {"orderId": order_id, "orderLinkId": "grid-1"}

    def status() -> str:
        rows = session.get_order_history(category="linear", orderId=order_id)["result"]["list"]
        return rows[0]["orderStatus"] == "Cancelled" and rows[0]["cancelType"] == "CancelByUser"

    wait_for(status, what="order cancelled")
    assert session.get_open_orders(category="linear", symbol=SYMBOL)["result"]["list"] == []


def test_open_orders_cursor_paging_returns_each_order_once(quiet_venue: RunningVenue) -> None:
    session = pybit_http(quiet_venue, account(2))
    last = _last(quiet_venue)
    placed = {_place(session, last - 50 - n)["result"]["orderId"] for n in range(7)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        result = session.get_open_orders(category="linear", symbol=SYMBOL, limit=3,
                                         cursor=cursor)["result"]
        seen += [row["orderId"] for row in result["list"]]
        pages += 1
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == placed


def test_executions_cursor_paging_positions_and_wallet_follow_fills(
    quiet_venue: RunningVenue,
) -> None:
    spec = account(3)
    session = pybit_http(quiet_venue, spec)
    for _ in range(5):
        _place(session, _last(quiet_venue) + 20, qty="0.002")  # crosses: taker fill
    rows = wait_for(lambda: len(session.get_executions(category="linear", limit=100)
                                ["result"]["list"]) >= 5 and session.get_executions(
        category="linear", limit=100)["result"]["list"], what="five fills")
    all_ids = [r["execId"] for r in rows]
    paged: list[str] = []
    cursor = None
    while True:
        result = session.get_executions(category="linear", limit=2, cursor=cursor)["result"]
        paged += [r["execId"] for r in result["list"]]
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    assert paged == all_ids and len(set(paged)) == len(paged)
    positions = session.get_positions(category="linear", symbol=SYMBOL)["result"]["list"]
    long = next(p for p in positions if p["positionIdx"] == 1)
    total = sum(Decimal(r["execQty"]) for r in rows)
    assert Decimal(long["size"]) == total == Decimal("0.010") and long["side"] == "Buy"
    fees = sum(Decimal(r["execFee"]) for r in rows)
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert Decimal(wallet["totalWalletBalance"]) == spec.usdt - fees


def test_wrong_secret_is_answered_with_10004(quiet_venue: RunningVenue) -> None:
    spec = account(4)
    session = pybit_http(quiet_venue, spec)
    session.api_secret = "not-the-secret"
    with pytest.raises(InvalidRequestError) as err:
        session.get_positions(category="linear", symbol=SYMBOL)
    assert err.value.status_code == 10004
    assert "not-the-secret" not in str(err.value) and spec.api_secret not in str(err.value)


def test_unknown_api_key_is_answered_with_10003(quiet_venue: RunningVenue) -> None:
    session = pybit_http(quiet_venue, account(4))
    session.api_key = "nobody"
    with pytest.raises(InvalidRequestError) as err:
        session.get_wallet_balance(accountType="UNIFIED")
    assert err.value.status_code == 10003


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"symbol": "DOGEUSDT"}, 10001),
        ({"positionIdx": 0}, 10001),
        ({"side": "Up"}, 10001),
        ({"qty": "0.0001"}, 110017),
        ({"qty": "50"}, 110007),
    ],
)
def test_bad_order_parameters_get_bybit_retcodes(
    quiet_venue: RunningVenue, overrides: dict, code: int,
) -> None:
    session = pybit_http(quiet_venue, account(5))
    body = {"category": "linear", "symbol": SYMBOL, "side": "Buy", "orderType": "Limit",
            "qty": "0.010", "price": f"{_last(quiet_venue) - 500:.1f}", "positionIdx": 1}
    with pytest.raises(InvalidRequestError) as err:
        session.place_order(**{**body, **overrides})
    assert err.value.status_code == code


def test_duplicate_link_id_and_unknown_order_are_refused(quiet_venue: RunningVenue) -> None:
    session = pybit_http(quiet_venue, account(6))
    price = _last(quiet_venue) - 300
    _place(session, price, orderLinkId="dup-1")
    with pytest.raises(InvalidRequestError) as err:
        _place(session, price, orderLinkId="dup-1")
    assert err.value.status_code == 110072
    with pytest.raises(InvalidRequestError) as err:
        session.cancel_order(category="linear", symbol=SYMBOL, orderId="no-such-order")
    assert err.value.status_code == 110001


def test_order_create_over_ten_per_second_gets_10006_with_limit_headers(
    quiet_venue: RunningVenue,
) -> None:
    session = pybit_http(quiet_venue, account(7), return_response_headers=True)
    price = _last(quiet_venue) - 400
    codes, statuses = [], []
    for _ in range(12):
        try:
            _body, _elapsed, headers = _place(session, price)
            codes.append(0)
            statuses.append(int(headers["X-Bapi-Limit-Status"]))
            assert headers["X-Bapi-Limit"] == "10"
        except InvalidRequestError as e:
            codes.append(e.status_code)
            assert e.resp_headers["X-Bapi-Limit-Status"] == "0"
            reset_ms = int(e.resp_headers["X-Bapi-Limit-Reset-Timestamp"])
            assert abs(reset_ms - time.time() * 1000) <= 1500  # pybit sleeps until then
    assert 10006 in codes and codes.count(0) <= 10
    assert statuses == sorted(statuses, reverse=True)


def test_stale_timestamp_is_answered_with_10002(quiet_venue: RunningVenue) -> None:
    session = pybit_http(quiet_venue, account(8), recv_window=5000)
    session.recv_window = -10_000  # signs with a window that makes the timestamp stale
    with pytest.raises(InvalidRequestError) as err:
        session.get_wallet_balance(accountType="UNIFIED")
    assert err.value.status_code == 10002


def test_market_endpoints_answer_public_requests(quiet_venue: RunningVenue) -> None:
    session = pybit_http(quiet_venue)
    info = session.get_instruments_info(category="linear", symbol=SYMBOL)["result"]["list"]
    assert info[0]["priceFilter"]["tickSize"] == "0.10"
    trades = session.get_public_trade_history(category="linear", symbol=SYMBOL, limit=1)
    assert len(trades["result"]["list"]) <= 1
    ticker = session.get_tickers(category="linear", symbol=SYMBOL)["result"]["list"][0]
    assert Decimal(ticker["ask1Price"]) - Decimal(ticker["bid1Price"]) == Decimal("0.1")
    with pytest.raises(InvalidRequestError) as err:
        session.get_tickers(category="linear", symbol="NOPEUSDT")
    assert err.value.status_code == 10001


def test_execution_list_applies_the_seven_day_window_to_one_bound_or_none(
    quiet_venue: RunningVenue,
) -> None:
    """Bybit: only startTime gives [start, start + 7 d], only endTime [end - 7 d, end],
    neither the last 7 days; a fill outside that window is not listed."""
    session = pybit_http(quiet_venue, account(9))
    _place(session, _last(quiet_venue) + 20, qty="0.002")  # crosses: taker fill
    (fill,) = wait_for(lambda: session.get_executions(category="linear")["result"]["list"],
                       what="the fill")
    at, day = int(fill["execTime"]), 86_400_000

    def listed(**bounds: int) -> bool:
        rows = session.get_executions(category="linear", **bounds)["result"]["list"]
        return [r["execId"] for r in rows] == [fill["execId"]]

    assert listed(startTime=at - day) and listed(endTime=at + day) and listed()
    assert not listed(startTime=at - 8 * day)  # window ends a day before the fill
    assert not listed(endTime=at + 8 * day)  # window starts a day after it
    with pytest.raises(InvalidRequestError) as err:
        listed(startTime=at - 8 * day, endTime=at)
    assert err.value.status_code == 10001
