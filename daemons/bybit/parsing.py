"""The normaliser: Bybit v5 messages and REST rows into gridcore events.

Pure functions (and one small state holder for tickers): a dict in, an event out, or a
:class:`ParseError` naming the field that is wrong. Unknown extra fields are ignored, so
Bybit can add fields without breaking capture. A message with a missing required field, a
malformed number, a negative size or a zero price is not an event: the caller counts it,
logs it and stores it raw in ``raw_quarantine``, and the stream goes on.

Numbers arrive as decimal strings and stay ``Decimal``; a JSON float where Bybit sends a
string is refused (money never passes through binary floating point). Times are integer
milliseconds (Bybit sends some as strings, some as numbers; both are accepted).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from gridcore.events import (
    BUY,
    SELL,
    CoinBalance,
    ExecutionEvent,
    FundingEvent,
    OrderUpdateEvent,
    PositionEvent,
    PublicTradeEvent,
    TickerEvent,
    WalletEvent,
)

_ZERO = Decimal(0)


class ParseError(ValueError):
    """A message or row that is not a valid event; ``field`` names what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


# -- field readers ------------------------------------------------------------------------

def decode(text: str | bytes) -> dict[str, Any]:
    """Decode one WebSocket frame or REST body; anything but a JSON object is refused."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError("json", f"not JSON ({type(e).__name__})") from None
    if not isinstance(value, dict):
        raise ParseError("json", f"expected an object, got {type(value).__name__}")
    return value


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParseError(where, f"expected an object, got {type(value).__name__}")
    return value


def _need(d: Mapping[str, Any], key: str, where: str) -> Any:
    value = d.get(key)
    if value is None:
        raise ParseError(f"{where}.{key}", "missing")
    return value


def _number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ParseError(field, f"expected a decimal string, got {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ParseError(field, "malformed number") from None
    if not number.is_finite():
        raise ParseError(field, "not a finite number")
    return number


def dec(d: Mapping[str, Any], key: str, where: str, *, positive: bool = False,
        non_negative: bool = False) -> Decimal:
    """A required decimal field; ``positive`` refuses zero and below, ``non_negative`` < 0."""
    number = _number(_need(d, key, where), f"{where}.{key}")
    if positive and number <= 0:
        raise ParseError(f"{where}.{key}", "must be greater than zero")
    if non_negative and number < 0:
        raise ParseError(f"{where}.{key}", "must not be negative")
    return number


def opt_dec(d: Mapping[str, Any], key: str, where: str, *, non_negative: bool = False,
            default: Decimal | None = None) -> Decimal | None:
    """An optional decimal field: missing, null or "" give ``default``."""
    value = d.get(key)
    if value is None or value == "":
        return default
    number = _number(value, f"{where}.{key}")
    if non_negative and number < 0:
        raise ParseError(f"{where}.{key}", "must not be negative")
    return number


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ParseError(field, "expected an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ParseError(field, f"expected an integer, got {value!r:.40}")


def req_int(d: Mapping[str, Any], key: str, where: str) -> int:
    return _int(_need(d, key, where), f"{where}.{key}")


def opt_int(d: Mapping[str, Any], key: str, where: str, default: int = 0) -> int:
    value = d.get(key)
    if value is None or value == "":
        return default
    return _int(value, f"{where}.{key}")


def _str(d: Mapping[str, Any], key: str, where: str, *, allow_empty: bool = False) -> str:
    value = _need(d, key, where)
    if not isinstance(value, str):
        raise ParseError(f"{where}.{key}", f"expected a string, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ParseError(f"{where}.{key}", "empty")
    return value


def _opt_str(d: Mapping[str, Any], key: str, where: str) -> str:
    value = d.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError(f"{where}.{key}", f"expected a string, got {type(value).__name__}")
    return value


def _bool(d: Mapping[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = d.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ParseError(f"{where}.{key}", f"expected true or false, got {value!r:.40}")
    return value


def _side(d: Mapping[str, Any], key: str, where: str) -> str:
    value = _need(d, key, where)
    if value not in (BUY, SELL):
        raise ParseError(f"{where}.{key}", f"expected Buy or Sell, got {value!r:.40}")
    return value


def data_list(message: Mapping[str, Any], where: str) -> list[Any]:
    """The ``data`` list of a push message (publicTrade, order, execution, ...)."""
    data = _need(_obj(message, where), "data", where)
    if not isinstance(data, list):
        raise ParseError(f"{where}.data", f"expected a list, got {type(data).__name__}")
    return data


def result_list(body: Mapping[str, Any], where: str) -> list[Any]:
    """``result.list`` of a REST answer."""
    result = _obj(_need(_obj(body, where), "result", where), f"{where}.result")
    rows = _need(result, "list", f"{where}.result")
    if not isinstance(rows, list):
        raise ParseError(f"{where}.result.list", f"expected a list, got {type(rows).__name__}")
    return rows


def creation_time(message: Mapping[str, Any], where: str) -> int:
    """``creationTime`` of a private push (the exchange's time of the message)."""
    return req_int(_obj(message, where), "creationTime", where)


# -- public market ------------------------------------------------------------------------

def public_trade(item: Any, local_ts: int) -> PublicTradeEvent:
    """One item of a ``publicTrade.{symbol}`` message."""
    where = "publicTrade"
    d = _obj(item, where)
    return PublicTradeEvent(
        symbol=_str(d, "s", where), exchange_ts=req_int(d, "T", where), local_ts=local_ts,
        seq=opt_int(d, "seq", where), trade_id=_str(d, "i", where), side=_side(d, "S", where),
        price=dec(d, "p", where, positive=True), size=dec(d, "v", where, positive=True))


def is_block_trade(item: Mapping[str, Any]) -> bool:
    """``BT`` of a WebSocket trade or ``isBlockTrade`` of a REST one (absent: False)."""
    return item.get("BT", item.get("isBlockTrade")) is True


def recent_trade(row: Any, local_ts: int) -> PublicTradeEvent:
    """One row of ``GET /v5/market/recent-trade`` (same trade as the WebSocket's)."""
    where = "recentTrade"
    d = _obj(row, where)
    return PublicTradeEvent(
        symbol=_str(d, "symbol", where), exchange_ts=req_int(d, "time", where),
        local_ts=local_ts, seq=opt_int(d, "seq", where), trade_id=_str(d, "execId", where),
        side=_side(d, "side", where), price=dec(d, "price", where, positive=True),
        size=dec(d, "size", where, positive=True))


def ticker(data: Any, exchange_ts: int, cross_seq: int, local_ts: int) -> TickerEvent:
    """A merged linear ticker state (snapshot, or snapshot plus deltas)."""
    where = "tickers.data"
    d = _obj(data, where)
    next_funding = opt_int(d, "nextFundingTime", where, default=-1)
    return TickerEvent(
        symbol=_str(d, "symbol", where), exchange_ts=exchange_ts, local_ts=local_ts,
        seq=cross_seq, last_price=dec(d, "lastPrice", where, positive=True),
        mark_price=opt_dec(d, "markPrice", where, non_negative=True),
        index_price=opt_dec(d, "indexPrice", where, non_negative=True),
        bid1_price=opt_dec(d, "bid1Price", where, non_negative=True),
        ask1_price=opt_dec(d, "ask1Price", where, non_negative=True),
        funding_rate=opt_dec(d, "fundingRate", where),
        next_funding_time=None if next_funding < 0 else next_funding)


def ticker_extras(data: Mapping[str, Any]) -> dict[str, Decimal | None]:
    """The ticker fields the table keeps beyond :class:`TickerEvent` (sizes, volumes)."""
    where = "tickers.data"
    return {column: opt_dec(data, key, where, non_negative=True) for column, key in (
        ("bid1_size", "bid1Size"), ("ask1_size", "ask1Size"), ("open_interest", "openInterest"),
        ("volume_24h", "volume24h"), ("turnover_24h", "turnover24h"))}


class TickerMerger:
    """Keeps one symbol's merged ticker: a ``delta`` changes only the fields it carries.

    pybit merges deltas itself and hands over its merged dict labelled ``snapshot``; raw
    messages (a client of our own, a recorded stream) arrive as Bybit sends them. Both
    work: a snapshot replaces the state, a delta is merged into it. A message that fails
    validation leaves the state as it was.
    """

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def reset(self) -> None:
        """Forget the state (after a reconnect the server sends a new snapshot)."""
        self.state = None

    def apply(self, message: Any, local_ts: int) -> TickerEvent:
        where = "tickers"
        m = _obj(message, where)
        kind = m.get("type")
        data = _obj(_need(m, "data", where), f"{where}.data")
        if kind == "snapshot":
            merged = dict(data)
        elif kind == "delta":
            if self.state is None:
                raise ParseError(f"{where}.type", "delta before any snapshot")
            merged = {**self.state, **data}
        else:
            raise ParseError(f"{where}.type", f"expected snapshot or delta, got {kind!r:.40}")
        event = ticker(merged, req_int(m, "ts", where), opt_int(m, "cs", where), local_ts)
        self.state = merged
        return event


def funding(row: Any, local_ts: int) -> FundingEvent:
    """One row of ``GET /v5/market/funding/history`` (a settled funding rate)."""
    where = "fundingHistory"
    d = _obj(row, where)
    return FundingEvent(symbol=_str(d, "symbol", where),
                        exchange_ts=req_int(d, "fundingRateTimestamp", where), local_ts=local_ts,
                        funding_rate=dec(d, "fundingRate", where))


# -- private streams and their REST rows --------------------------------------------------

def _stop_order_type(d: Mapping[str, Any], where: str) -> str:
    """``stopOrderType``, "" for a plain order (Bybit sends "", "UNKNOWN" or nothing)."""
    value = _opt_str(d, "stopOrderType", where)
    return "" if value == "UNKNOWN" else value


def order(item: Any, local_ts: int, account_id: str | None = None) -> OrderUpdateEvent:
    """An ``order`` push item or an order-history / open-orders REST row.

    ``orderType`` and ``stopOrderType`` are carried because the engine manages only plain
    limit orders: a conditional stop-loss on the same symbol must not look like a grid order.
    """
    where = "order"
    d = _obj(item, where)
    order_type = _str(d, "orderType", where)
    price = opt_dec(d, "price", where, non_negative=True, default=_ZERO)
    if price == 0 and order_type == "Limit":
        raise ParseError(f"{where}.price", "a limit order's price must be greater than zero")
    return OrderUpdateEvent(
        symbol=_str(d, "symbol", where), exchange_ts=req_int(d, "updatedTime", where),
        local_ts=local_ts, account_id=account_id, order_id=_str(d, "orderId", where),
        order_link_id=_opt_str(d, "orderLinkId", where), side=_side(d, "side", where),
        price=price, qty=dec(d, "qty", where, positive=True),
        order_status=_str(d, "orderStatus", where), order_type=order_type,
        stop_order_type=_stop_order_type(d, where),
        reduce_only=_bool(d, "reduceOnly", where), position_idx=opt_int(d, "positionIdx", where),
        cum_exec_qty=opt_dec(d, "cumExecQty", where, non_negative=True, default=_ZERO),
        leaves_qty=opt_dec(d, "leavesQty", where, non_negative=True, default=_ZERO),
        reject_reason=_opt_str(d, "rejectReason", where))


def execution(item: Any, local_ts: int, account_id: str | None = None) -> ExecutionEvent:
    """An ``execution`` push item or a ``/v5/execution/list`` row (funding included)."""
    where = "execution"
    d = _obj(item, where)
    return ExecutionEvent(
        symbol=_str(d, "symbol", where), exchange_ts=req_int(d, "execTime", where),
        local_ts=local_ts, account_id=account_id, seq=opt_int(d, "seq", where),
        exec_id=_str(d, "execId", where), order_id=_str(d, "orderId", where, allow_empty=True),
        order_link_id=_opt_str(d, "orderLinkId", where), side=_side(d, "side", where),
        exec_price=dec(d, "execPrice", where, positive=True),
        exec_qty=dec(d, "execQty", where, positive=True),
        exec_fee=opt_dec(d, "execFee", where, default=_ZERO),
        fee_rate=opt_dec(d, "feeRate", where, default=_ZERO),
        leaves_qty=opt_dec(d, "leavesQty", where, non_negative=True, default=_ZERO),
        closed_size=opt_dec(d, "closedSize", where, non_negative=True, default=_ZERO),
        exec_type=_str(d, "execType", where), is_maker=_bool(d, "isMaker", where))


def position(item: Any, local_ts: int, fallback_ts: int,
             account_id: str | None = None) -> PositionEvent:
    """A ``position`` push item or a ``/v5/position/list`` row.

    ``fallback_ts`` (the message's ``creationTime`` or the REST answer's ``time``) stands
    in when ``updatedTime`` is empty, as it is for a side that never traded.
    """
    where = "position"
    d = _obj(item, where)
    entry = "entryPrice" if "entryPrice" in d else "avgPrice"
    return PositionEvent(
        symbol=_str(d, "symbol", where),
        exchange_ts=opt_int(d, "updatedTime", where, default=fallback_ts), local_ts=local_ts,
        account_id=account_id, seq=opt_int(d, "seq", where),
        position_idx=req_int(d, "positionIdx", where),
        size=dec(d, "size", where, non_negative=True),
        entry_price=opt_dec(d, entry, where, non_negative=True, default=_ZERO),
        leverage=opt_dec(d, "leverage", where, non_negative=True, default=Decimal(10)),
        liq_price=opt_dec(d, "liqPrice", where, non_negative=True),
        mark_price=opt_dec(d, "markPrice", where, non_negative=True),
        position_value=opt_dec(d, "positionValue", where, non_negative=True, default=_ZERO),
        unrealised_pnl=opt_dec(d, "unrealisedPnl", where, default=_ZERO),
        cum_realised_pnl=opt_dec(d, "cumRealisedPnl", where, default=_ZERO))


def wallet(item: Any, exchange_ts: int, local_ts: int,
           account_id: str | None = None) -> WalletEvent:
    """A ``wallet`` push item or a ``/v5/account/wallet-balance`` list entry."""
    where = "wallet"
    d = _obj(item, where)
    coins = _need(d, "coin", where)
    if not isinstance(coins, list):
        raise ParseError(f"{where}.coin", f"expected a list, got {type(coins).__name__}")
    balances = []
    for coin in coins:
        c = _obj(coin, f"{where}.coin[]")
        balances.append(CoinBalance(
            coin=_str(c, "coin", f"{where}.coin[]"),
            wallet_balance=dec(c, "walletBalance", f"{where}.coin[]"),
            usd_value=opt_dec(c, "usdValue", f"{where}.coin[]", default=_ZERO)))
    return WalletEvent(symbol="", exchange_ts=exchange_ts, local_ts=local_ts,
                       account_id=account_id, coins=tuple(balances))
