"""Several listed symbols through pybit: instruments, tickers, trades and streams per symbol,
one account trading two symbols at once, and Bybit's answers for a symbol not listed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
import websocket
from pybit.exceptions import InvalidRequestError

from daemons.marketdata.trade import Trade
from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.core import VenueCore
from daemons.venue.instruments import INSTRUMENTS
from daemons.venue.order_entry import place_order
from daemons.venue.server import RunningVenue
from daemons.venue.testing import (
    make_accounts,
    pybit_http,
    pybit_ws,
    record_prints,
    start_test_venue,
    wait_for,
    wait_subscribed,
)

from .conftest import account

pytestmark = pytest.mark.timeout(90)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
#: Bybit's filters, written out here rather than read from the venue's table.
FILTERS = {  # symbol: (tickSize, qtyStep = minOrderQty, priceScale)
    "BTCUSDT": ("0.10", "0.001", "2"), "ETHUSDT": ("0.01", "0.01", "2"),
    "SOLUSDT": ("0.010", "0.1", "3"), "XRPUSDT": ("0.0001", "1", "4"),
}
LEVELS = {"BTCUSDT": 61_800, "ETHUSDT": 3_090, "SOLUSDT": 154.5, "XRPUSDT": 0.618}


def on_grid(text: str, step: str) -> bool:
    """``text`` is a multiple of ``step`` written with exactly ``step``'s decimals."""
    decimals = len(step.partition(".")[2])
    return len(text.partition(".")[2]) == decimals and Decimal(text) % Decimal(step) == 0


def test_instruments_info_lists_every_symbol_with_its_own_filters(
    quiet_venue: RunningVenue,
) -> None:
    session = pybit_http(quiet_venue)
    listed = session.get_instruments_info(category="linear")["result"]["list"]
    assert [i["symbol"] for i in listed] == list(SYMBOLS)
    for item in listed:
        tick, step, scale = FILTERS[item["symbol"]]
        assert (item["priceFilter"]["tickSize"], item["priceFilter"]["minPrice"],
                item["lotSizeFilter"]["qtyStep"], item["lotSizeFilter"]["minOrderQty"],
                item["priceScale"]) == (tick, tick, step, step, scale)
        assert item["baseCoin"] == item["symbol"].removesuffix("USDT")
    one = session.get_instruments_info(category="linear", symbol="SOLUSDT")["result"]["list"]
    assert [i["symbol"] for i in one] == ["SOLUSDT"]
    assert session.get_instruments_info(category="linear",
                                        symbol="DOGEUSDT")["result"]["list"] == []


def test_tickers_and_recent_trades_are_each_symbols_own_on_its_grid(
    live_venue: RunningVenue,
) -> None:
    session = pybit_http(live_venue)
    for symbol in SYMBOLS:
        wait_for(lambda s=symbol: session.get_public_trade_history(
            category="linear", symbol=s, limit=5)["result"]["list"], what=f"{symbol} trades")
    tickers = session.get_tickers(category="linear")["result"]["list"]
    assert [t["symbol"] for t in tickers] == list(SYMBOLS)
    for ticker in tickers:
        symbol = ticker["symbol"]
        tick, step, _ = FILTERS[symbol]
        assert on_grid(ticker["lastPrice"], tick) and on_grid(ticker["bid1Price"], tick)
        assert on_grid(ticker["bid1Size"], step) and on_grid(ticker["openInterest"], step)
        assert 0.8 < float(ticker["lastPrice"]) / LEVELS[symbol] < 1.25
        trades = session.get_public_trade_history(category="linear", symbol=symbol,
                                                  limit=50)["result"]["list"]
        assert {t["symbol"] for t in trades} == {symbol}
        assert all(on_grid(t["price"], tick) and on_grid(t["size"], step) for t in trades)
        one = session.get_tickers(category="linear", symbol=symbol)["result"]["list"]
        assert [t["symbol"] for t in one] == [symbol]
        kline = session.get_kline(category="linear", symbol=symbol, interval="1")["result"]
        assert kline["symbol"] == symbol and kline["list"]
        assert all(on_grid(price, tick) for row in kline["list"] for price in row[1:5])


def test_public_stream_delivers_each_symbols_tape_and_ticker_to_pybit() -> None:
    """Per symbol, the trades pybit receives are exactly the venue's prints from the first
    one received on (nothing lost, nothing of another symbol), with that symbol's ticker."""
    venue = start_test_venue(1, speed=5.0, seed=21)
    received: dict[str, list[dict]] = {s: [] for s in SYMBOLS}
    tickers: dict[str, list[dict]] = {s: [] for s in SYMBOLS}
    lock = threading.Lock()

    def on_message(message: dict) -> None:
        kind, _, symbol = message["topic"].partition(".")
        with lock:
            if kind == "publicTrade":
                received[symbol].extend(message["data"])
            else:
                tickers[symbol].append(message)

    ws = pybit_ws(venue)
    try:
        prints = record_prints(venue)
        ws.trade_stream(symbol=list(SYMBOLS), callback=on_message)
        ws.ticker_stream(symbol=list(SYMBOLS), callback=on_message)
        wait_for(lambda: all(len(received[s]) >= 20 and tickers[s] for s in SYMBOLS),
                 timeout_s=30, what="trades and tickers of every symbol")
        requests.post(f"{venue.base_url}/admin/tape/pause", timeout=5).raise_for_status()
        settled = venue.call(lambda: {s: len(prints[s]) for s in SYMBOLS})
        wait_for(lambda: all(received[s][-1]["seq"] == prints[s][settled[s] - 1]["seq"]
                             for s in SYMBOLS), what="every print delivered")
    finally:
        ws.exit()
        venue.stop()
    for symbol in SYMBOLS:
        first = received[symbol][0]["seq"]
        expected = [p for p in prints[symbol] if p["seq"] >= first]
        assert [(t["i"], t["p"], t["v"], t["s"]) for t in received[symbol]] == [
            (p["i"], p["p"], p["v"], symbol) for p in expected]
        snapshot = tickers[symbol][0]
        assert snapshot["type"] == "snapshot" and snapshot["data"]["symbol"] == symbol
        assert on_grid(snapshot["data"]["lastPrice"], FILTERS[symbol][0])


@pytest.fixture
def two_symbol_venue() -> Iterator[RunningVenue]:
    """BTCUSDT and ETHUSDT, tape paused, no latency, a known resting size at every level."""
    venue = start_test_venue(2, start_paused=True, latency_ms_median=0.0, depth_sigma=0.0,
                             depth_growth_per_tick=0.0, seed=4,
                             symbols=(INSTRUMENTS["BTCUSDT"], INSTRUMENTS["ETHUSDT"]))
    yield venue
    venue.stop()


def _inject(venue: RunningVenue, symbol: str, side: str, price: str, size: str) -> None:
    requests.post(f"{venue.base_url}/admin/tape/trades", params={"symbol": symbol}, timeout=5,
                  json=[{"side": side, "price": price, "size": size}]).raise_for_status()


def _touch(session: Any, symbol: str) -> tuple[Decimal, Decimal]:
    ticker = session.get_tickers(category="linear", symbol=symbol)["result"]["list"][0]
    return Decimal(ticker["bid1Price"]), Decimal(ticker["ask1Price"])


def test_one_account_trades_two_symbols_positions_and_wallet_add_up(
    two_symbol_venue: RunningVenue,
) -> None:
    """A BTCUSDT long and an ETHUSDT short on one wallet: each symbol's positions, fills and
    private pushes are its own; margin, fees and unrealised PnL are the sum of both."""
    venue = two_symbol_venue
    spec = make_accounts(2)[0]
    session = pybit_http(venue, spec)
    pushes: list[dict] = []
    ws = pybit_ws(venue, spec)
    try:
        ws.position_stream(callback=pushes.append)
        wait_for(lambda: ws.auth, what="auth")
        wait_subscribed(venue, "private", {"position"})
        _, btc_ask = _touch(session, "BTCUSDT")
        eth_bid, _ = _touch(session, "ETHUSDT")
        session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                            qty="0.010", price=f"{btc_ask + 5:.2f}", positionIdx=1)
        session.place_order(category="linear", symbol="ETHUSDT", side="Sell", orderType="Limit",
                            qty="2.00", price=f"{eth_bid - 1:.2f}", positionIdx=2)
        wait_for(lambda: {p["symbol"] for m in list(pushes) for p in m["data"]
                          if p["size"] not in ("0", "0.000", "0.00")} == {"BTCUSDT", "ETHUSDT"},
                 what="position pushes of both symbols")
        _inject(venue, "ETHUSDT", "Sell", f"{eth_bid - 5:.2f}", "0.01")  # ETH falls by 5.00
    finally:
        ws.exit()
    btc = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"]
    eth = session.get_positions(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert [(p["symbol"], p["positionIdx"], p["size"], p["avgPrice"]) for p in btc] == [
        ("BTCUSDT", 1, "0.010", f"{btc_ask:.2f}"), ("BTCUSDT", 2, "0.000", "0.00")]
    assert [(p["symbol"], p["positionIdx"], p["size"], p["avgPrice"]) for p in eth] == [
        ("ETHUSDT", 1, "0.00", "0.00"), ("ETHUSDT", 2, "2.00", f"{eth_bid:.2f}")]
    assert Decimal(eth[1]["unrealisedPnl"]) == Decimal("10")  # 2 ETH short, 5.00 lower
    everything = session.get_positions(category="linear", settleCoin="USDT")["result"]["list"]
    assert [(p["symbol"], p["positionIdx"]) for p in everything] == [
        ("BTCUSDT", 1), ("ETHUSDT", 2)], "by settle coin, Bybit lists open positions only"
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    btc_value, eth_value = btc_ask * Decimal("0.010"), eth_bid * 2
    fees = (btc_value + eth_value) * Decimal("0.00055")  # both filled as taker
    assert Decimal(wallet["totalWalletBalance"]) == Decimal(100_000) - fees
    assert Decimal(wallet["totalPerpUPL"]) == Decimal("10")
    assert Decimal(wallet["totalEquity"]) == Decimal(100_000) - fees + 10
    assert Decimal(wallet["coin"][0]["totalPositionIM"]) == (btc_value + eth_value) / 10
    rates = session.get_fee_rates(category="linear")["result"]["list"]
    assert [r["symbol"] for r in rates] == ["BTCUSDT", "ETHUSDT"]
    fills = session.get_executions(category="linear")["result"]["list"]
    assert sorted(f["symbol"] for f in fills) == ["BTCUSDT", "ETHUSDT"]
    assert len({f["seq"] for f in fills}) == 2
    only_eth = session.get_executions(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert [(f["symbol"], f["execQty"], f["execPrice"]) for f in only_eth] == [
        ("ETHUSDT", "2", f"{eth_bid:.2f}")]


def test_orders_of_one_symbol_are_untouched_by_another_symbols_cancels(
    two_symbol_venue: RunningVenue,
) -> None:
    venue = two_symbol_venue
    session = pybit_http(venue, make_accounts(2)[1])
    btc_bid, _ = _touch(session, "BTCUSDT")
    eth_bid, _ = _touch(session, "ETHUSDT")
    btc = session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                              qty="0.001", price=f"{btc_bid - 100:.2f}",
                              positionIdx=1)["result"]
    session.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Limit",
                        qty="0.10", price=f"{eth_bid - 10:.2f}", positionIdx=1)
    with pytest.raises(InvalidRequestError, match=r"ErrCode: 110001"):
        session.cancel_order(category="linear", symbol="ETHUSDT", orderId=btc["orderId"])
    cancelled = session.cancel_all_orders(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert len(cancelled) == 1 and cancelled[0]["orderId"] != btc["orderId"]
    wait_for(lambda: session.get_open_orders(category="linear", symbol="ETHUSDT")
             ["result"]["list"] == [], what="ETHUSDT order cancelled")
    still = session.get_open_orders(category="linear")["result"]["list"]
    assert [(o["symbol"], o["orderId"]) for o in still] == [("BTCUSDT", btc["orderId"])]


@pytest.mark.parametrize(("call", "params", "message"), [
    ("place_order", {"symbol": "DOGEUSDT", "side": "Buy", "orderType": "Limit", "qty": "1",
                     "price": "0.1", "positionIdx": 1}, "symbol invalid"),
    ("get_tickers", {"symbol": "DOGEUSDT"}, "symbol invalid"),
    ("get_public_trade_history", {"symbol": "DOGEUSDT"}, "symbol invalid"),
    ("get_public_trade_history", {}, "symbol is required"),
    ("get_kline", {"symbol": "DOGEUSDT", "interval": "1"}, "symbol invalid"),
    ("get_positions", {"symbol": "DOGEUSDT"}, "symbol invalid"),
    ("get_open_orders", {"symbol": "DOGEUSDT"}, "symbol invalid"),
    ("get_executions", {"symbol": "DOGEUSDT"}, "symbol invalid"),
    ("cancel_all_orders", {"symbol": "DOGEUSDT"}, "symbol invalid"),
])
def test_symbol_not_listed_is_refused_with_10001(
    quiet_venue: RunningVenue, call: str, params: dict, message: str,
) -> None:
    session = pybit_http(quiet_venue, account(14))
    with pytest.raises(InvalidRequestError, match=rf"{message}.*ErrCode: 10001"):
        getattr(session, call)(category="linear", **params)


def test_public_subscription_to_a_symbol_not_listed_is_refused(
    quiet_venue: RunningVenue,
) -> None:
    sock = websocket.create_connection(f"{quiet_venue.ws_base_url}/v5/public/linear", timeout=10)
    try:
        sock.send(json.dumps({"op": "subscribe", "req_id": "r1",
                              "args": ["publicTrade.ETHUSDT", "publicTrade.DOGEUSDT"]}))
        answer = json.loads(sock.recv())
        sock.send(json.dumps({"op": "subscribe", "req_id": "r2", "args": ["tickers.XRPUSDT"]}))
        accepted = json.loads(sock.recv())
    finally:
        sock.close()
    assert (answer["success"], answer["ret_msg"], answer["req_id"]) == (
        False, "error:handler not found,topic:publicTrade.DOGEUSDT", "r1")
    assert (accepted["success"], accepted["req_id"]) == (True, "r2")


def test_admin_injects_into_the_named_symbol_and_status_shows_every_symbol(
    two_symbol_venue: RunningVenue,
) -> None:
    venue = two_symbol_venue
    before = requests.get(f"{venue.base_url}/admin/status", timeout=5).json()["symbols"]
    _inject(venue, "ETHUSDT", "Buy", "3000.01", "0.5")
    after = requests.get(f"{venue.base_url}/admin/status", timeout=5).json()
    assert list(after["symbols"]) == ["BTCUSDT", "ETHUSDT"]
    assert after["symbols"]["ETHUSDT"]["last_price"] == "3000.01"
    assert after["symbols"]["BTCUSDT"] == before["BTCUSDT"]
    refused = requests.post(f"{venue.base_url}/admin/tape/trades", params={"symbol": "SOLUSDT"},
                            json=[{"side": "Buy", "price": "150", "size": "1"}], timeout=5)
    assert refused.status_code == 400 and refused.json()["listed"] == ["BTCUSDT", "ETHUSDT"]


def test_core_a_symbols_prints_and_funding_touch_only_that_symbols_orders_and_positions(
) -> None:
    """Each listing has its own book and funding clock: BTCUSDT prints far below an ETHUSDT
    bid do not fill it, and BTCUSDT's funding time charges no ETHUSDT position."""
    spec = AccountSpec("alice", "key-alice", "secret-alice", Decimal(100_000))
    core = VenueCore(VenueConfig(
        accounts=(spec,), latency_ms_median=0.0, depth_median_qty=1.0, depth_sigma=0.0,
        depth_growth_per_tick=0.0, funding_interval_s=3600,
        symbols=(INSTRUMENTS["BTCUSDT"], INSTRUMENTS["ETHUSDT"])))
    btc, eth = core.listings["BTCUSDT"], core.listings["ETHUSDT"]
    btc.prime(Trade(0, "b0", "Sell", 50_000.0, 0.01))
    eth.prime(Trade(0, "e0", "Sell", 2_500.0, 0.1))
    alice = core.accounts["alice"]
    order = place_order(core, alice, {
        "category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit",
        "qty": "1.00", "price": "2499.00", "positionIdx": 1}, now_ms=1)
    eth.engine.advance(1)
    btc.feed(Trade(10, "b1", "Sell", 2_000.0, 5.0), 10)  # a BTC print at any price
    assert order.status == "New" and alice.position("ETHUSDT", 1).size_lots == 0
    eth.feed(Trade(20, "e1", "Sell", 2_498.99, 0.01), 20)  # through the order's price
    assert order.status == "Filled" and alice.position("ETHUSDT", 1).size_lots == 100
    btc.feed(Trade(3_600_000, "b2", "Buy", 2_000.0, 0.001), 30)  # BTCUSDT's funding time
    assert [e.exec_type for e in alice.executions] == ["Trade"]
    eth.feed(Trade(3_600_000, "e2", "Buy", 2_500.0, 0.01), 40)  # ETHUSDT's funding time
    funding = alice.executions[-1]
    assert (funding.exec_type, funding.symbol, funding.exec_qty) == (
        "Funding", "ETHUSDT", Decimal("1.00"))
    assert len(btc.market.funding_history) == 1 and len(eth.market.funding_history) == 1
