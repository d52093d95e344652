"""Account endpoints: positions, the UNIFIED wallet and fee rates."""

from __future__ import annotations

from daemons.venue.errors import bad_param
from daemons.venue.order_entry import listed
from daemons.venue.params import Call
from daemons.venue.payloads import num, position_item, wallet_item


def positions(call: Call) -> dict:
    """Both hedge-mode sides of the symbol, open or not; or (``settleCoin=USDT`` without a
    symbol) the open sides of every listed one: Bybit lists only positions of size > 0
    then, so a client that needs a flat side must ask by symbol."""
    chosen = listed(call.server.core, call.params)
    by_symbol = bool(call.params.get("symbol"))
    if not by_symbol and call.params.get("settleCoin") != "USDT":
        raise bad_param("params error: symbol or settleCoin is required")
    acct = call.account
    rows = [position_item(p, acct, listing.market.last_ticks, ws=False)
            for listing in chosen for p in acct.sides(listing.symbol)
            if by_symbol or p.size_lots > 0]
    return {"list": rows, "nextPageCursor": "", "category": "linear"}


def wallet(call: Call) -> dict:
    if call.params.get("accountType") != "UNIFIED":
        raise bad_param("accountType only support UNIFIED.")
    coin = call.params.get("coin")
    item = wallet_item(call.account, call.server.core.marks())
    if coin and "USDT" not in str(coin).split(","):
        item["coin"] = []
    return {"list": [item]}


def fee_rate(call: Call) -> dict:
    spec = call.account.spec
    return {"list": [{"symbol": listing.symbol, "takerFeeRate": num(spec.taker_fee_rate),
                      "makerFeeRate": num(spec.maker_fee_rate)}
                     for listing in listed(call.server.core, call.params)]}


ROUTES = {
    ("GET", "/v5/position/list"): positions,
    ("GET", "/v5/account/wallet-balance"): wallet,
    ("GET", "/v5/account/fee-rate"): fee_rate,
}
