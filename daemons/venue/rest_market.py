"""Public market endpoints: time, instruments, tickers, recent trades, klines, funding."""

from __future__ import annotations

from daemons.venue.errors import bad_param
from daemons.venue.order_entry import listed, symbol_listing
from daemons.venue.params import Call, int_param, optional_int
from daemons.venue.payloads import num
from daemons.venue.payloads_market import instrument, kline_rows, recent_trade

INTERVALS = {"1": 1, "3": 3, "5": 5, "15": 15, "30": 30, "60": 60, "120": 120, "240": 240,
             "360": 360, "720": 720, "D": 1440}


def server_time(call: Call) -> dict:
    return {"timeSecond": str(call.now_ms // 1000), "timeNano": str(call.now_ms * 1_000_000)}


def instruments_info(call: Call) -> dict:
    """Every listed symbol, or the one asked for; a symbol not listed is an empty list."""
    if call.params.get("category") != "linear":
        raise bad_param("Illegal category")
    symbol = call.params.get("symbol")
    listings = call.server.core.listings
    chosen = listings.values() if symbol in (None, "") else [
        listing for name, listing in listings.items() if name == symbol]
    return {"category": "linear", "nextPageCursor": "",
            "list": [instrument(listing.inst, call.server.config) for listing in chosen]}


def tickers(call: Call) -> dict:
    feeds = call.server.tickers
    return {"category": "linear", "list": [
        feeds[f"tickers.{listing.symbol}"].builder.rest(call.now_ms)
        for listing in listed(call.server.core, call.params)]}


def recent_trades(call: Call) -> dict:
    market = symbol_listing(call.server.core, call.params).market
    limit = int_param(call.params, "limit", 500, 1, 1000)
    recent = list(market.recent)[-limit:]
    return {"category": "linear", "list": [recent_trade(i) for i in reversed(recent)]}


def kline(call: Call) -> dict:
    listing = symbol_listing(call.server.core, {"category": "linear", **call.params})
    minutes = INTERVALS.get(str(call.params.get("interval", "")))
    if minutes is None:
        raise bad_param("params error: interval invalid")
    limit = int_param(call.params, "limit", 200, 1, 1000)
    rows = kline_rows(listing.market, minutes, limit,
                      optional_int(call.params, "start"), optional_int(call.params, "end"))
    return {"symbol": listing.symbol, "category": "linear", "list": rows}


def funding_history(call: Call) -> dict:
    listing = symbol_listing(call.server.core, call.params)
    limit = int_param(call.params, "limit", 200, 1, 200)
    history = list(listing.market.funding_history)[-limit:]
    return {"category": "linear", "list": [
        {"symbol": listing.symbol, "fundingRate": num(rate), "fundingRateTimestamp": str(ts)}
        for ts, rate in reversed(history)
    ]}


ROUTES = {
    ("GET", "/v5/market/time"): server_time,
    ("GET", "/v5/market/instruments-info"): instruments_info,
    ("GET", "/v5/market/tickers"): tickers,
    ("GET", "/v5/market/recent-trade"): recent_trades,
    ("GET", "/v5/market/kline"): kline,
    ("GET", "/v5/market/funding/history"): funding_history,
}
