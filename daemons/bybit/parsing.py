"""The normaliser: Bybit v5 messages and REST rows into gridcore events and table values.

Pure functions (and one small state holder for tickers): a dict in, an event out, or a
:class:`ParseError` naming the field that is wrong. This is the one place that validates
(with the field readers of :mod:`daemons.bybit.fields`, whose docstring has the rules):
whatever it accepts can be stored, since the row builders of :mod:`daemons.db.event_rows`
only assemble, so one bad item costs that item alone and never the message, page or
reconcile around it. Unknown extra fields are ignored, so Bybit can add fields without
breaking capture.

``category``: the private topics carry every market of a unified account. An item of
another category is not an error but another market's data: :func:`other_category`
names it so that the caller drops and counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from daemons.bybit.fields import (
    AMOUNT,
    LEVERAGE,
    PRICE,
    RATE,
    ParseError,
    as_text,
    buy_sell,
    check_depth,
    dec,
    flag,
    need,
    obj,
    opt_dec,
    opt_int,
    opt_str,
    opt_time,
    req_int,
    req_str,
    req_time,
    storable,
)
from daemons.bybit.fields import decode as decode  # re-exported: the streams decode with it
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
LINEAR = "linear"


# -- message structure --------------------------------------------------------------------

def _position_idx(d: Mapping[str, Any], where: str, required: bool) -> int:
    """0 (one-way), 1 (hedge Buy side) or 2 (hedge Sell side)."""
    value = req_int(d, "positionIdx", where) if required else opt_int(d, "positionIdx", where)
    if value not in (0, 1, 2):
        raise ParseError(f"{where}.positionIdx", "expected 0, 1 or 2")
    return value


def data_list(message: Mapping[str, Any], where: str) -> list[Any]:
    """The ``data`` list of a push message (publicTrade, order, execution, ...)."""
    data = need(obj(message, where), "data", where)
    if not isinstance(data, list):
        raise ParseError(f"{where}.data", f"expected a list, got {type(data).__name__}")
    return data


def result_list(body: Mapping[str, Any], where: str) -> list[Any]:
    """``result.list`` of a REST answer."""
    result = obj(need(obj(body, where), "result", where), f"{where}.result")
    rows = need(result, "list", f"{where}.result")
    if not isinstance(rows, list):
        raise ParseError(f"{where}.result.list", f"expected a list, got {type(rows).__name__}")
    return rows


@dataclass(frozen=True, slots=True)
class Envelope:
    """A REST answer's rows, next-page cursor ("" at the end), time and ``category``."""

    rows: list[Any]
    cursor: str
    time_ms: int
    category: str | None


def envelope(body: Any, local_ts: int) -> Envelope:
    """Validate a REST answer's envelope; its rows are validated one by one later.

    ``time`` (Bybit's time of the answer) defaults to the receipt time ``local_ts``;
    ``category`` is None when the answer names none (the request named ``linear``).
    """
    where = "rest"
    check_depth(obj(body, where), where)
    rows = result_list(body, where)
    result = body["result"]
    cursor = result.get("nextPageCursor")
    category = result.get("category")
    time_ms = opt_time(body, "time", where, local_ts)
    return Envelope(
        rows, "" if cursor is None else as_text(cursor, f"{where}.result.nextPageCursor"),
        local_ts if time_ms is None else time_ms,
        None if category is None else as_text(category, f"{where}.result.category"))


def creation_time(message: Mapping[str, Any], where: str, local_ts: int) -> int:
    """``creationTime`` of a private push (the exchange's time of the message)."""
    return req_time(obj(message, where), "creationTime", where, local_ts)


def other_category(item: Any, default: str | None, where: str) -> str | None:
    """The item's ``category`` if it is not ``linear`` (drop the item), else None.

    An item without one (or with "") takes ``default``: the REST answer's category, or ``linear``
    that the request asked for. A WebSocket item has no default: the all-in-one private
    topics carry every market, so an item that names none cannot be attributed.
    """
    value = obj(item, where).get("category")
    category = default if value is None or value == "" else as_text(value, f"{where}.category")
    if category is None:
        raise ParseError(f"{where}.category", "missing")
    return None if category == LINEAR else category


# -- public market ------------------------------------------------------------------------

def public_trade(item: Any, local_ts: int) -> PublicTradeEvent:
    """One item of a ``publicTrade.{symbol}`` message."""
    where = "publicTrade"
    d = obj(item, where)
    return PublicTradeEvent(
        symbol=req_str(d, "s", where), exchange_ts=req_time(d, "T", where, local_ts),
        local_ts=local_ts, seq=opt_int(d, "seq", where), trade_id=req_str(d, "i", where),
        side=buy_sell(d, "S", where), price=dec(d, "p", where, positive=True),
        size=dec(d, "v", where, positive=True))


def is_block_trade(item: Mapping[str, Any]) -> bool:
    """``BT`` of a WebSocket trade or ``isBlockTrade`` of a REST one (absent: False)."""
    return item.get("BT", item.get("isBlockTrade")) is True


def recent_trade(row: Any, local_ts: int) -> PublicTradeEvent:
    """One row of ``GET /v5/market/recent-trade`` (same trade as the WebSocket's)."""
    where = "recentTrade"
    d = obj(row, where)
    return PublicTradeEvent(
        symbol=req_str(d, "symbol", where), exchange_ts=req_time(d, "time", where, local_ts),
        local_ts=local_ts, seq=opt_int(d, "seq", where), trade_id=req_str(d, "execId", where),
        side=buy_sell(d, "side", where), price=dec(d, "price", where, positive=True),
        size=dec(d, "size", where, positive=True))


def ticker(data: Any, exchange_ts: int, cross_seq: int, local_ts: int) -> TickerEvent:
    """A merged linear ticker state (snapshot, or snapshot plus deltas)."""
    where = "tickers.data"
    d = obj(data, where)
    return TickerEvent(
        symbol=req_str(d, "symbol", where), exchange_ts=exchange_ts, local_ts=local_ts,
        seq=cross_seq, last_price=dec(d, "lastPrice", where, positive=True),
        mark_price=opt_dec(d, "markPrice", where, non_negative=True),
        index_price=opt_dec(d, "indexPrice", where, non_negative=True),
        bid1_price=opt_dec(d, "bid1Price", where, non_negative=True),
        ask1_price=opt_dec(d, "ask1Price", where, non_negative=True),
        funding_rate=opt_dec(d, "fundingRate", where, limit=RATE),
        next_funding_time=opt_time(d, "nextFundingTime", where, local_ts))


def ticker_extras(data: Mapping[str, Any]) -> dict[str, Decimal | None]:
    """The ticker fields the table keeps beyond :class:`TickerEvent` (sizes, volumes)."""
    where = "tickers.data"
    return {column: opt_dec(data, key, where, non_negative=True, limit=limit)
            for column, key, limit in (
                ("bid1_size", "bid1Size", PRICE), ("ask1_size", "ask1Size", PRICE),
                ("open_interest", "openInterest", AMOUNT), ("volume_24h", "volume24h", AMOUNT),
                ("turnover_24h", "turnover24h", AMOUNT))}


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    """One ticker message, validated: the event and the table's extra columns."""

    event: TickerEvent
    extras: dict[str, Decimal | None]


class TickerMerger:
    """Keeps one symbol's merged ticker: a ``delta`` changes only the fields it carries.

    pybit would merge deltas itself, but capture takes Bybit's messages as they arrive
    (``daemons.bybit.streams``), so this is the only merged ticker state. A snapshot
    replaces the state, a delta is merged into a copy; the copy becomes the state only
    once every field the capture reads is valid, so a bad value never enters it and the
    next delta merges into the last good state.
    """

    def __init__(self, symbol: str | None = None) -> None:
        self.symbol = symbol  # the topic's: a message of another symbol is refused
        self.state: dict[str, Any] | None = None

    def reset(self) -> None:
        """Forget the state (after a reconnect the server sends a new snapshot)."""
        self.state = None

    def apply(self, message: Any, local_ts: int) -> TickerUpdate:
        where = "tickers"
        m = obj(message, where)
        kind = m.get("type")
        data = obj(need(m, "data", where), f"{where}.data")
        if kind == "snapshot":
            merged = dict(data)
        elif kind == "delta":
            if self.state is None:
                raise ParseError(f"{where}.type", "delta before any snapshot")
            merged = {**self.state, **data}
        else:
            raise ParseError(f"{where}.type", "expected snapshot or delta")
        event = ticker(merged, req_time(m, "ts", where, local_ts), opt_int(m, "cs", where),
                       local_ts)
        symbol = self.symbol if self.state is None else self.state["symbol"]
        if symbol is not None and event.symbol != symbol:
            raise ParseError(f"{where}.data.symbol", "another symbol than the topic's")
        update = TickerUpdate(event, ticker_extras(merged))
        self.state = merged
        return update


def funding(row: Any, local_ts: int) -> FundingEvent:
    """One row of ``GET /v5/market/funding/history`` (a settled funding rate)."""
    where = "fundingHistory"
    d = obj(row, where)
    return FundingEvent(symbol=req_str(d, "symbol", where),
                        exchange_ts=req_time(d, "fundingRateTimestamp", where, local_ts),
                        local_ts=local_ts, funding_rate=dec(d, "fundingRate", where, limit=RATE))


# -- private streams and their REST rows --------------------------------------------------

def _stop_order_type(d: Mapping[str, Any], where: str) -> str:
    """``stopOrderType``, "" for a plain order (Bybit sends "", "UNKNOWN" or nothing)."""
    value = opt_str(d, "stopOrderType", where)
    return "" if value == "UNKNOWN" else value


def _private(item: Any, where: str) -> Mapping[str, Any]:
    """A private item, which its row keeps verbatim: it must be storable as a whole."""
    d = obj(item, where)
    storable(d, where)
    return d


def order(item: Any, local_ts: int, account_id: str | None = None) -> OrderUpdateEvent:
    """An ``order`` push item or an order-history / open-orders REST row.

    ``orderType`` and ``stopOrderType`` are carried because the engine manages only plain
    limit orders: a conditional stop-loss on the same symbol must not look like a grid order.
    """
    where = "order"
    d = _private(item, where)
    order_type = req_str(d, "orderType", where)
    price = opt_dec(d, "price", where, non_negative=True, default=_ZERO)
    if price == 0 and order_type == "Limit":
        raise ParseError(f"{where}.price", "a limit order's price must be greater than zero")
    return OrderUpdateEvent(
        symbol=req_str(d, "symbol", where), exchange_ts=req_time(d, "updatedTime", where, local_ts),
        local_ts=local_ts, account_id=account_id, order_id=req_str(d, "orderId", where),
        order_link_id=opt_str(d, "orderLinkId", where), side=buy_sell(d, "side", where),
        price=price, qty=dec(d, "qty", where, positive=True),
        order_status=req_str(d, "orderStatus", where), order_type=order_type,
        stop_order_type=_stop_order_type(d, where),
        reduce_only=flag(d, "reduceOnly", where),
        position_idx=_position_idx(d, where, required=False),
        cum_exec_qty=opt_dec(d, "cumExecQty", where, non_negative=True, default=_ZERO),
        leaves_qty=opt_dec(d, "leavesQty", where, non_negative=True, default=_ZERO),
        reject_reason=opt_str(d, "rejectReason", where))


def order_extras(item: Mapping[str, Any], local_ts: int) -> dict[str, Any]:
    """The ``orders`` columns beyond :class:`OrderUpdateEvent`; ``createdTime`` 0 is None."""
    where = "order"
    return {"time_in_force": opt_str(item, "timeInForce", where) or None,
            "cum_exec_value": opt_dec(item, "cumExecValue", where, limit=AMOUNT),
            "cum_exec_fee": opt_dec(item, "cumExecFee", where),
            "created_ts": opt_time(item, "createdTime", where, local_ts)}


def execution(item: Any, local_ts: int, account_id: str | None = None) -> ExecutionEvent:
    """An ``execution`` push item or a ``/v5/execution/list`` row (funding included)."""
    where = "execution"
    d = _private(item, where)
    return ExecutionEvent(
        symbol=req_str(d, "symbol", where),
        exchange_ts=req_time(d, "execTime", where, local_ts), local_ts=local_ts,
        account_id=account_id, seq=opt_int(d, "seq", where), exec_id=req_str(d, "execId", where),
        order_id=req_str(d, "orderId", where, allow_empty=True),
        order_link_id=opt_str(d, "orderLinkId", where), side=buy_sell(d, "side", where),
        exec_price=dec(d, "execPrice", where, positive=True),
        exec_qty=dec(d, "execQty", where, positive=True),
        exec_fee=opt_dec(d, "execFee", where, default=_ZERO),
        fee_rate=opt_dec(d, "feeRate", where, default=_ZERO, limit=RATE),
        leaves_qty=opt_dec(d, "leavesQty", where, non_negative=True, default=_ZERO),
        closed_size=opt_dec(d, "closedSize", where, non_negative=True, default=_ZERO),
        exec_type=req_str(d, "execType", where), is_maker=flag(d, "isMaker", where))


def execution_extras(item: Mapping[str, Any]) -> dict[str, Any]:
    """The ``private_executions`` columns beyond :class:`ExecutionEvent`."""
    return {"closed_pnl": opt_dec(item, "execPnl", "execution", default=_ZERO)}


def position(item: Any, local_ts: int, fallback_ts: int,
             account_id: str | None = None) -> PositionEvent:
    """A ``position`` push item or a ``/v5/position/list`` row.

    ``fallback_ts`` (the message's ``creationTime`` or the REST answer's ``time``, both
    validated) stands in when ``updatedTime`` is empty or "0", as it is for a side that
    never traded: such a snapshot is stored at the time Bybit sent it, never at 1970.
    """
    where = "position"
    d = _private(item, where)
    entry = "entryPrice" if "entryPrice" in d else "avgPrice"
    updated = opt_time(d, "updatedTime", where, local_ts)
    return PositionEvent(
        symbol=req_str(d, "symbol", where),
        exchange_ts=fallback_ts if updated is None else updated, local_ts=local_ts,
        account_id=account_id, seq=opt_int(d, "seq", where),
        position_idx=_position_idx(d, where, required=True),
        size=dec(d, "size", where, non_negative=True),
        entry_price=opt_dec(d, entry, where, non_negative=True, default=_ZERO),
        leverage=opt_dec(d, "leverage", where, non_negative=True, default=Decimal(10),
                         limit=LEVERAGE),
        liq_price=opt_dec(d, "liqPrice", where, non_negative=True),
        mark_price=opt_dec(d, "markPrice", where, non_negative=True),
        position_value=opt_dec(d, "positionValue", where, non_negative=True, default=_ZERO,
                               limit=AMOUNT),
        unrealised_pnl=opt_dec(d, "unrealisedPnl", where, default=_ZERO),
        cum_realised_pnl=opt_dec(d, "cumRealisedPnl", where, default=_ZERO))


def position_extras(item: Mapping[str, Any]) -> dict[str, Any]:
    """The ``positions`` columns beyond :class:`PositionEvent`.

    ``side`` is Buy or Sell, and None for a flat position (Bybit writes "" or "None").
    """
    side = item.get("side")
    return {"side": side if side in (BUY, SELL) else None,
            "position_status": opt_str(item, "positionStatus", "position") or None}


def wallet(item: Any, exchange_ts: int, local_ts: int,
           account_id: str | None = None) -> WalletEvent:
    """A ``wallet`` push item or a ``/v5/account/wallet-balance`` list entry."""
    where = "wallet"
    d = _private(item, where)
    balances = [CoinBalance(coin=req_str(c, "coin", f"{where}.coin[]"),
                            wallet_balance=dec(c, "walletBalance", f"{where}.coin[]",
                                               limit=AMOUNT),
                            usd_value=opt_dec(c, "usdValue", f"{where}.coin[]", default=_ZERO,
                                              limit=AMOUNT))
                for c in _coins(d, where)]
    if len({b.coin for b in balances}) != len(balances):
        raise ParseError(f"{where}.coin", "a coin listed twice")
    return WalletEvent(symbol="", exchange_ts=exchange_ts, local_ts=local_ts,
                       account_id=account_id, coins=tuple(balances))


def _coins(d: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    coins = need(d, "coin", where)
    if not isinstance(coins, list):
        raise ParseError(f"{where}.coin", f"expected a list, got {type(coins).__name__}")
    return [obj(c, f"{where}.coin[]") for c in coins]


def wallet_extras(item: Mapping[str, Any]) -> dict[str, Any]:
    """The ``wallets`` columns beyond :class:`WalletEvent`: account-wide, then per coin."""
    where, coin_where = "wallet", "wallet.coin[]"
    per_coin = {req_str(c, "coin", coin_where): {
        key: opt_dec(c, key, coin_where, limit=AMOUNT)
        for key in ("equity", "availableToWithdraw", "unrealisedPnl", "cumRealisedPnl")}
        for c in _coins(item, where)}
    return {"account_type": opt_str(item, "accountType", where) or "UNIFIED",
            "total_initial_margin": opt_dec(item, "totalInitialMargin", where, limit=AMOUNT),
            "total_maintenance_margin": opt_dec(item, "totalMaintenanceMargin", where,
                                                limit=AMOUNT),
            "coins": per_coin}
