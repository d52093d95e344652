"""Order endpoints: create, cancel, cancel-all, open orders, history, executions."""

from __future__ import annotations

from daemons.venue.errors import bad_param
from daemons.venue.order_entry import cancel_all, cancel_order, listed, place_order
from daemons.venue.orders import Order
from daemons.venue.params import Call, optional_int, page
from daemons.venue.payloads import execution_item, order_item

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


def _ids(order: Order) -> dict[str, str]:
    return {"orderId": order.order_id, "orderLinkId": order.order_link_id}


def create(call: Call) -> dict:
    return _ids(place_order(call.server.core, call.account, call.params, call.now_ms))


def cancel(call: Call) -> dict:
    return _ids(cancel_order(call.server.core, call.account, call.params, call.now_ms))


def cancel_everything(call: Call) -> dict:
    orders = cancel_all(call.server.core, call.account, call.params, call.now_ms)
    return {"list": [_ids(o) for o in orders], "success": "1"}


def _symbols(call: Call) -> set[str]:
    """The symbols a query covers: the one given, else every listed one."""
    return {listing.symbol for listing in listed(call.server.core, call.params)}


def _orders(call: Call, open_only: bool) -> dict:
    symbols = _symbols(call)
    order_id, link = call.params.get("orderId"), call.params.get("orderLinkId")
    chosen = sorted((o for o in call.account.orders.values() if o.symbol in symbols),
                    key=lambda o: o.seq, reverse=True)
    if order_id:
        chosen = [o for o in chosen if o.order_id == order_id]
    if link:
        chosen = [o for o in chosen if o.order_link_id == link]
    if open_only and not (order_id or link):
        chosen = [o for o in chosen if o.is_open]
    rows, cursor = page(chosen, lambda o: o.seq, call.params, 20, 50)
    return {"list": [order_item(o, ws=False) for o in rows],
            "nextPageCursor": cursor, "category": "linear"}


def open_orders(call: Call) -> dict:
    return _orders(call, open_only=True)


def order_history(call: Call) -> dict:
    return _orders(call, open_only=False)


def _execution_window(call: Call) -> tuple[int, int]:
    """Bybit's window for /v5/execution/list: never more than 7 days.

    Neither bound: the last 7 days; only ``startTime``: 7 days from it; only ``endTime``:
    the 7 days before it; both: refused if more than 7 days apart (or reversed).
    """
    start, end = optional_int(call.params, "startTime"), optional_int(call.params, "endTime")
    if start is None and end is None:
        return call.now_ms - SEVEN_DAYS_MS, call.now_ms
    if end is None:
        return start, start + SEVEN_DAYS_MS
    if start is None:
        return end - SEVEN_DAYS_MS, end
    if not 0 <= end - start <= SEVEN_DAYS_MS:
        raise bad_param("params error: the time range must be within 7 days")
    return start, end


def executions(call: Call) -> dict:
    symbols = _symbols(call)
    start, end = _execution_window(call)
    rows = [e for e in reversed(call.account.executions) if e.symbol in symbols]
    for key, attr in (("orderId", "order_id"), ("orderLinkId", "order_link_id"),
                      ("execType", "exec_type")):
        wanted = call.params.get(key)
        if wanted:
            rows = [e for e in rows if getattr(e, attr) == wanted]
    rows = [e for e in rows if start <= e.exec_time_ms <= end]
    chosen, cursor = page(rows, lambda e: e.seq, call.params, 50, 100)
    return {"nextPageCursor": cursor, "category": "linear",
            "list": [execution_item(e, ws=False) for e in chosen]}


ROUTES = {
    ("POST", "/v5/order/create"): create,
    ("POST", "/v5/order/cancel"): cancel,
    ("POST", "/v5/order/cancel-all"): cancel_everything,
    ("GET", "/v5/order/realtime"): open_orders,
    ("GET", "/v5/order/history"): order_history,
    ("GET", "/v5/execution/list"): executions,
}
