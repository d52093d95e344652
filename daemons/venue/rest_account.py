"""Account endpoints: positions, the UNIFIED wallet and fee rates."""

from __future__ import annotations

from daemons.venue.errors import bad_param
from daemons.venue.order_entry import check_category_symbol
from daemons.venue.params import Call
from daemons.venue.payloads import num, position_item, wallet_item


def positions(call: Call) -> dict:
    check_category_symbol(call.server.core, call.params, need_symbol=False)
    if not call.params.get("symbol") and call.params.get("settleCoin") != "USDT":
        raise bad_param("params error: symbol or settleCoin is required")
    mark = call.server.core.market.last_ticks
    acct = call.account
    rows = [position_item(p, acct, mark, ws=False) for p in acct.positions.values()]
    return {"list": rows, "nextPageCursor": "", "category": "linear"}


def wallet(call: Call) -> dict:
    if call.params.get("accountType") != "UNIFIED":
        raise bad_param("accountType only support UNIFIED.")
    coin = call.params.get("coin")
    item = wallet_item(call.account, call.server.core.market.last_ticks)
    if coin and "USDT" not in str(coin).split(","):
        item["coin"] = []
    return {"list": [item]}


def fee_rate(call: Call) -> dict:
    check_category_symbol(call.server.core, call.params, need_symbol=False)
    spec = call.account.spec
    return {"list": [{"symbol": call.server.config.symbol, "takerFeeRate": num(spec.taker_fee_rate),
                      "makerFeeRate": num(spec.maker_fee_rate)}]}


ROUTES = {
    ("GET", "/v5/position/list"): positions,
    ("GET", "/v5/account/wallet-balance"): wallet,
    ("GET", "/v5/account/fee-rate"): fee_rate,
}
