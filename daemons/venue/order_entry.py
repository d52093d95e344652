"""Order entry: validate a create or cancel request as Bybit does, then hand it on.

Each refusal carries Bybit's retCode (see ``errors``); checks run in Bybit's order:
parameters, symbol, link id, open-order count, reduce-only, then balance.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from daemons.venue.accounts import Account
from daemons.venue.config import MAX_MKT_ORDER_QTY, MAX_ORDER_QTY, MAX_PRICE
from daemons.venue.core import VenueCore
from daemons.venue.errors import (
    DUPLICATE_LINK_ID,
    INSUFFICIENT_BALANCE,
    ORDER_NOT_FOUND,
    PRICE_OUT_OF_RANGE,
    QTY_TO_ZERO,
    TOO_MANY_ORDERS,
    VenueError,
    bad_param,
)
from daemons.venue.orders import Order, new_id

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
MAX_OPEN_ORDERS = 500


def check_category_symbol(core: VenueCore, params: dict[str, Any], need_symbol: bool) -> None:
    """Refuse anything but ``category=linear`` and the venue's symbol."""
    if params.get("category") != "linear":
        raise bad_param("Illegal category")
    symbol = params.get("symbol")
    if symbol in (None, "") and need_symbol:
        raise bad_param("params error: symbol is required")
    if symbol not in (None, "") and symbol != core.config.symbol:
        raise bad_param("params error: symbol invalid")


def _decimal(params: dict[str, Any], key: str) -> Decimal:
    try:
        value = Decimal(str(params[key]))
    except (KeyError, InvalidOperation) as e:
        raise bad_param(f"params error: {key} invalid") from e
    if not value.is_finite():
        raise bad_param(f"params error: {key} invalid")
    return value


def _flag(params: dict[str, Any], key: str) -> bool:
    """A boolean option: JSON ``true``/``false`` only, as Bybit documents them.

    ``bool("false")`` is True, so a string must be refused rather than coerced: a
    ``reduceOnly: "false"`` read as True would silently change what the order does.
    """
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise bad_param(f"params error: {key} must be a boolean")
    return value


def _text(params: dict[str, Any], key: str) -> str | None:
    """A string option (ids); anything else is refused rather than compared as is."""
    value = params.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise bad_param(f"params error: {key} invalid")
    return value


def _position_idx(params: dict[str, Any]) -> int:
    """An integer, given as one: ``True`` (``int(True) == 1``) or ``1.9`` would otherwise
    be read as the long side."""
    raw = params.get("positionIdx", 0)
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise bad_param("params error: positionIdx invalid")
    try:
        return int(raw)
    except (TypeError, ValueError) as e:
        raise bad_param("params error: positionIdx invalid") from e


def _ints(core: VenueCore, params: dict[str, Any], order_type: str) -> tuple[int, int]:
    """Quantity in lots and limit price in ticks, both exact multiples of their steps."""
    qty = _decimal(params, "qty")
    if qty <= 0:
        raise bad_param("params error: qty invalid")
    if qty > (MAX_MKT_ORDER_QTY if order_type == "Market" else MAX_ORDER_QTY):
        raise bad_param("The number of contracts exceeds maximum limit allowed: too large")
    lots = qty / core.config.qty_step
    if lots < 1:
        raise VenueError(QTY_TO_ZERO, "Qty invalid: order qty truncated to zero")
    if lots != lots.to_integral_value():
        raise bad_param("Qty invalid: not a multiple of qtyStep")
    if order_type == "Market":
        return int(lots), 0
    price = _decimal(params, "price")
    if not core.config.tick_size <= price <= MAX_PRICE:  # minPrice is one tick
        raise VenueError(PRICE_OUT_OF_RANGE, "Order price is out of permissible range")
    ticks = price / core.config.tick_size
    if ticks != ticks.to_integral_value():
        raise bad_param("params error: price not a multiple of tickSize")
    return int(lots), int(ticks)


def place_order(core: VenueCore, acct: Account, params: dict[str, Any], now_ms: int) -> Order:
    """Validate a ``/v5/order/create`` body and submit the order to the engine."""
    check_category_symbol(core, params, need_symbol=True)
    side, order_type = params.get("side"), params.get("orderType")
    if side not in ("Buy", "Sell"):
        raise bad_param("params error: side invalid")
    if order_type not in ("Limit", "Market"):
        raise bad_param("params error: orderType invalid")
    lots, ticks = _ints(core, params, order_type)
    idx = _position_idx(params)
    reduce_only = _flag(params, "reduceOnly")
    if idx not in (1, 2):
        raise bad_param("position idx not match position mode")
    tif = params.get("timeInForce") or ("IOC" if order_type == "Market" else "GTC")
    if tif not in TIME_IN_FORCE:
        raise bad_param("params error: timeInForce invalid")
    link = _text(params, "orderLinkId") or new_id(core.engine.ids)
    if not LINK_ID.match(link):
        raise bad_param("params error: orderLinkId invalid")
    if acct.find_open_link(link) is not None:
        raise VenueError(DUPLICATE_LINK_ID, "OrderLinkedID is duplicate")
    if len(acct.open_orders()) >= MAX_OPEN_ORDERS:
        raise VenueError(TOO_MANY_ORDERS, "The number of active orders exceeds the limit")
    order = Order(
        order_id=new_id(core.engine.ids), order_link_id=link, account=acct.name,
        symbol=core.config.symbol, side=side, order_type=order_type, price_ticks=ticks,
        qty_lots=lots, position_idx=idx, time_in_force=tif,
        reduce_only=reduce_only, created_ms=now_ms,
        seq=core.next_seq(), last_price_on_created=core.market.last_ticks,
    )
    if not order.opens_position and acct.positions[idx].size_lots == 0:
        raise VenueError(QTY_TO_ZERO, "current position is zero, cannot fix reduce-only order qty")
    if order.opens_position:
        mark = core.market.last_ticks
        cost = acct.price(ticks or mark) * acct.qty(lots)
        need = cost / acct.spec.leverage + cost * acct.spec.taker_fee_rate
        if need > acct.available(mark):
            raise VenueError(INSUFFICIENT_BALANCE, "ab not enough for new order")
    core.engine.submit(order, now_ms)
    return order


def find_open_order(acct: Account, params: dict[str, Any]) -> Order:
    """The open order named by ``orderId`` or ``orderLinkId`` (else retCode 110001)."""
    order_id, link = _text(params, "orderId"), _text(params, "orderLinkId")
    if not order_id and not link:
        raise bad_param("params error: orderId or orderLinkId is required")
    order = acct.orders.get(order_id) if order_id else acct.find_open_link(link or "")
    if order is None or not order.is_open or (link and order.order_link_id != link):
        raise VenueError(ORDER_NOT_FOUND, "order not exists or too late to cancel")
    return order


def cancel_order(core: VenueCore, acct: Account, params: dict[str, Any], now_ms: int) -> Order:
    """Validate a ``/v5/order/cancel`` body and ask the engine to cancel."""
    check_category_symbol(core, params, need_symbol=True)
    order = find_open_order(acct, params)
    if not order.cancel_pending:
        core.engine.request_cancel(order, now_ms)
    return order


def cancel_all(core: VenueCore, acct: Account, params: dict[str, Any], now_ms: int) -> list[Order]:
    """Cancel every open order of the account (``/v5/order/cancel-all``)."""
    check_category_symbol(core, params, need_symbol=False)
    orders = [o for o in acct.open_orders() if not o.cancel_pending]
    for order in orders:
        core.engine.request_cancel(order, now_ms)
    return orders
