"""Order entry: validate a create or cancel request as Bybit does, then hand it on.

Each refusal carries Bybit's retCode (see ``errors``); checks run in Bybit's order:
parameters, symbol, link id, open-order count, reduce-only, then balance.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from daemons.venue.accounts import Account
from daemons.venue.core import Listing, VenueCore
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
from daemons.venue.instruments import Instrument
from daemons.venue.orders import Order, new_id

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
MAX_OPEN_ORDERS = 500


def _symbol(params: dict[str, Any]) -> object:
    """The ``symbol`` parameter (None when absent or empty), after ``category=linear``."""
    if params.get("category") != "linear":
        raise bad_param("Illegal category")
    symbol = params.get("symbol")
    return None if symbol in (None, "") else symbol


def symbol_listing(core: VenueCore, params: dict[str, Any]) -> Listing:
    """The listing of the required ``symbol``; a symbol the venue does not list is 10001."""
    symbol = _symbol(params)
    if symbol is None:
        raise bad_param("params error: symbol is required")
    return core.listing(symbol)


def listed(core: VenueCore, params: dict[str, Any]) -> list[Listing]:
    """The listing of ``symbol`` if one is given, else every listing (a filter)."""
    symbol = _symbol(params)
    return list(core.listings.values()) if symbol is None else [core.listing(symbol)]


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


def _ints(inst: Instrument, params: dict[str, Any], order_type: str) -> tuple[int, int]:
    """Quantity in lots and limit price in ticks, both exact multiples of the symbol's steps."""
    qty = _decimal(params, "qty")
    if qty <= 0:
        raise bad_param("params error: qty invalid")
    if qty > (inst.max_mkt_order_qty if order_type == "Market" else inst.max_order_qty):
        raise bad_param("The number of contracts exceeds maximum limit allowed: too large")
    lots = qty / inst.qty_step
    if lots < 1:
        raise VenueError(QTY_TO_ZERO, "Qty invalid: order qty truncated to zero")
    if lots != lots.to_integral_value():
        raise bad_param("Qty invalid: not a multiple of qtyStep")
    if order_type == "Market":
        return int(lots), 0
    price = _decimal(params, "price")
    if not inst.tick_size <= price <= inst.max_price:  # minPrice is one tick
        raise VenueError(PRICE_OUT_OF_RANGE, "Order price is out of permissible range")
    ticks = price / inst.tick_size
    if ticks != ticks.to_integral_value():
        raise bad_param("params error: price not a multiple of tickSize")
    return int(lots), int(ticks)


def place_order(core: VenueCore, acct: Account, params: dict[str, Any], now_ms: int) -> Order:
    """Validate a ``/v5/order/create`` body and submit the order to its symbol's engine."""
    listing = symbol_listing(core, params)
    inst = listing.inst
    side, order_type = params.get("side"), params.get("orderType")
    if side not in ("Buy", "Sell"):
        raise bad_param("params error: side invalid")
    if order_type not in ("Limit", "Market"):
        raise bad_param("params error: orderType invalid")
    lots, ticks = _ints(inst, params, order_type)
    idx = _position_idx(params)
    reduce_only = _flag(params, "reduceOnly")
    if idx not in (1, 2):
        raise bad_param("position idx not match position mode")
    tif = params.get("timeInForce") or ("IOC" if order_type == "Market" else "GTC")
    if tif not in TIME_IN_FORCE:
        raise bad_param("params error: timeInForce invalid")
    link = _text(params, "orderLinkId") or new_id(listing.engine.ids)
    if not LINK_ID.match(link):
        raise bad_param("params error: orderLinkId invalid")
    if acct.find_open_link(link) is not None:
        raise VenueError(DUPLICATE_LINK_ID, "OrderLinkedID is duplicate")
    if len(acct.open_orders()) >= MAX_OPEN_ORDERS:
        raise VenueError(TOO_MANY_ORDERS, "The number of active orders exceeds the limit")
    mark = listing.market.last_ticks
    order = Order(
        order_id=new_id(listing.engine.ids), order_link_id=link, account=acct.name,
        inst=inst, side=side, order_type=order_type, price_ticks=ticks,
        qty_lots=lots, position_idx=idx, time_in_force=tif,
        reduce_only=reduce_only, created_ms=now_ms,
        seq=core.next_seq(), last_price_on_created=mark,
    )
    if not order.opens_position and acct.position(inst.symbol, idx).size_lots == 0:
        raise VenueError(QTY_TO_ZERO, "current position is zero, cannot fix reduce-only order qty")
    if order.opens_position:
        cost = inst.price(ticks or mark) * inst.qty(lots)
        need = cost / acct.spec.leverage + cost * acct.spec.taker_fee_rate
        if need > acct.available(core.marks()):
            raise VenueError(INSUFFICIENT_BALANCE, "ab not enough for new order")
    listing.engine.submit(order, now_ms)
    return order


def find_open_order(acct: Account, params: dict[str, Any], symbol: str) -> Order:
    """The open order of ``symbol`` named by ``orderId`` or ``orderLinkId`` (else retCode
    110001: an order of another symbol is not found, as on Bybit)."""
    order_id, link = _text(params, "orderId"), _text(params, "orderLinkId")
    if not order_id and not link:
        raise bad_param("params error: orderId or orderLinkId is required")
    order = acct.orders.get(order_id) if order_id else acct.find_open_link(link or "")
    if (order is None or not order.is_open or (link and order.order_link_id != link)
            or order.symbol != symbol):
        raise VenueError(ORDER_NOT_FOUND, "order not exists or too late to cancel")
    return order


def cancel_order(core: VenueCore, acct: Account, params: dict[str, Any], now_ms: int) -> Order:
    """Validate a ``/v5/order/cancel`` body and ask the symbol's engine to cancel."""
    listing = symbol_listing(core, params)
    order = find_open_order(acct, params, listing.symbol)
    if not order.cancel_pending:
        listing.engine.request_cancel(order, now_ms)
    return order


def cancel_all(core: VenueCore, acct: Account, params: dict[str, Any], now_ms: int) -> list[Order]:
    """Cancel every open order of the account, of one symbol when ``symbol`` is given
    (``/v5/order/cancel-all``)."""
    listings = {listing.symbol: listing for listing in listed(core, params)}
    orders = [o for o in acct.open_orders() if not o.cancel_pending and o.symbol in listings]
    for order in orders:
        listings[order.symbol].engine.request_cancel(order, now_ms)
    return orders
