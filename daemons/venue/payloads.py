"""Bybit-shaped private payloads: orders, executions, positions and the wallet.

Key sets and value types follow the official samples exactly (decimals as strings,
flags as booleans, ``positionIdx`` and ``seq`` as numbers); REST and WebSocket variants
differ where Bybit's do (``avgPrice`` vs ``entryPrice``, ``extraFees`` "" vs a list).
"""

from __future__ import annotations

from decimal import Decimal

from daemons.venue.accounts import MAINTENANCE_RATE, Account, Marks, Position
from daemons.venue.orders import Execution, Order

_ORDER_COMMON = (
    "orderId", "orderLinkId", "blockTradeId", "symbol", "price", "qty", "side",
    "positionIdx", "orderStatus", "cancelType", "rejectReason", "avgPrice", "leavesQty",
    "leavesValue", "cumExecQty", "cumExecValue", "cumExecFee", "timeInForce", "orderType",
    "stopOrderType", "orderIv", "triggerPrice", "takeProfit", "stopLoss", "tpTriggerBy",
    "slTriggerBy", "triggerDirection", "triggerBy", "lastPriceOnCreated", "reduceOnly",
    "closeOnTrigger", "smpType", "smpGroup", "smpOrderId", "tpslMode", "tpLimitPrice",
    "slLimitPrice", "placeType", "createdTime", "updatedTime", "cumFeeDetail",
)
REST_ORDER_KEYS = _ORDER_COMMON + ("isLeverage",)
WS_ORDER_KEYS = _ORDER_COMMON + (
    "closedPnl", "category", "feeCurrency", "rpiTakerAccess", "rpiMatchedQty",
)


def num(value: Decimal) -> str:
    """A decimal as Bybit writes it: plain notation, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def order_item(order: Order, ws: bool) -> dict[str, object]:
    """An order as ``/v5/order/realtime`` (``ws=False``) or the ``order`` topic shows it."""
    inst = order.inst
    price = inst.price(order.price_ticks)
    cum_qty = inst.qty(order.cum_lots)
    avg = order.cum_value / cum_qty if order.cum_lots else Decimal(0)
    full: dict[str, object] = {
        "orderId": order.order_id, "orderLinkId": order.order_link_id, "blockTradeId": "",
        "symbol": inst.symbol, "price": inst.price_text(order.price_ticks),
        "qty": inst.qty_text(order.qty_lots), "side": order.side, "isLeverage": "",
        "positionIdx": order.position_idx, "orderStatus": order.status,
        "cancelType": order.cancel_type, "rejectReason": order.reject_reason,
        "avgPrice": num(avg.quantize(inst.tick_size / 100)),
        "leavesQty": inst.qty_text(order.leaves_lots),
        "leavesValue": num(price * inst.qty(order.leaves_lots)),
        "cumExecQty": inst.qty_text(order.cum_lots), "cumExecValue": num(order.cum_value),
        "cumExecFee": num(order.cum_fee), "timeInForce": order.time_in_force,
        "orderType": order.order_type, "stopOrderType": "", "orderIv": "",
        "triggerPrice": "", "takeProfit": "", "stopLoss": "", "tpTriggerBy": "",
        "slTriggerBy": "", "triggerDirection": 0, "triggerBy": "",
        "lastPriceOnCreated": inst.price_text(order.last_price_on_created),
        "reduceOnly": order.reduce_only, "closeOnTrigger": False, "smpType": "None",
        "smpGroup": 0, "smpOrderId": "", "tpslMode": "", "tpLimitPrice": "",
        "slLimitPrice": "", "placeType": "", "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms), "cumFeeDetail": {"USDT": num(order.cum_fee)},
        "closedPnl": num(order.closed_pnl), "category": "linear", "feeCurrency": "USDT",
        "rpiTakerAccess": False, "rpiMatchedQty": "0",
    }
    return {k: full[k] for k in (WS_ORDER_KEYS if ws else REST_ORDER_KEYS)}


_EXEC_COMMON = (
    "symbol", "orderType", "underlyingPrice", "orderLinkId", "side", "indexPrice", "orderId",
    "stopOrderType", "leavesQty", "execTime", "feeCurrency", "isMaker", "execFee", "feeRate",
    "execId", "tradeIv", "blockTradeId", "markPrice", "execPrice", "markIv", "orderQty",
    "orderPrice", "execValue", "execType", "execQty", "closedSize", "extraFees", "seq",
)
REST_EXEC_KEYS = _EXEC_COMMON
WS_EXEC_KEYS = _EXEC_COMMON + ("category", "isLeverage", "marketUnit", "execPnl", "createType")


def execution_item(exe: Execution, ws: bool) -> dict[str, object]:
    """An execution as ``/v5/execution/list`` or the ``execution`` topic shows it."""
    full: dict[str, object] = {
        "symbol": exe.symbol, "orderType": exe.order_type, "underlyingPrice": "",
        "orderLinkId": exe.order_link_id, "side": exe.side, "indexPrice": "",
        "orderId": exe.order_id, "stopOrderType": "UNKNOWN", "leavesQty": num(exe.leaves_qty),
        "execTime": str(exe.exec_time_ms), "feeCurrency": "USDT", "isMaker": exe.is_maker,
        "execFee": num(exe.exec_fee), "feeRate": num(exe.fee_rate), "execId": exe.exec_id,
        "tradeIv": "", "blockTradeId": "",
        "markPrice": exe.inst.decimal_price_text(exe.mark_price),
        "execPrice": exe.inst.decimal_price_text(exe.exec_price), "markIv": "",
        "orderQty": num(exe.order_qty),
        "orderPrice": num(exe.order_price), "execValue": num(exe.exec_price * exe.exec_qty),
        "execType": exe.exec_type, "execQty": num(exe.exec_qty),
        "closedSize": num(exe.closed_size), "extraFees": [] if ws else "", "seq": exe.seq,
        "category": "linear", "isLeverage": "0", "marketUnit": "", "execPnl": num(exe.exec_pnl),
        "createType": "CreateByUser",
    }
    return {k: full[k] for k in (WS_EXEC_KEYS if ws else REST_EXEC_KEYS)}


_POS_COMMON = (
    "positionIdx", "riskId", "riskLimitValue", "symbol", "side", "size", "positionValue",
    "tradeMode", "positionStatus", "autoAddMargin", "adlRankIndicator", "leverage",
    "breakEvenPrice", "positionBalance", "markPrice", "liqPrice", "bustPrice", "positionMM",
    "positionMMByMp", "positionIM", "positionIMByMp", "tpslMode", "takeProfit", "stopLoss",
    "trailingStop", "unrealisedPnl", "curRealisedPnl", "cumRealisedPnl", "seq",
    "isReduceOnly", "leverageSysUpdatedTime", "sessionAvgPrice", "createdTime", "updatedTime",
)
REST_POSITION_KEYS = _POS_COMMON + ("avgPrice", "mmrSysUpdateTime")
WS_POSITION_KEYS = _POS_COMMON + ("entryPrice", "mmrSysUpdatedTime", "category")


def position_item(pos: Position, acct: Account, mark_ticks: int, ws: bool) -> dict[str, object]:
    """One hedge-mode side as ``/v5/position/list`` or the ``position`` topic shows it;
    ``mark_ticks`` is the last price of the position's symbol."""
    inst = pos.inst
    value = pos.value
    im = value / acct.spec.leverage
    mm = value * MAINTENANCE_RATE
    avg = inst.decimal_price_text(pos.avg_price)
    full: dict[str, object] = {
        "positionIdx": pos.idx, "riskId": 1, "riskLimitValue": "2000000", "symbol": inst.symbol,
        "side": pos.side, "size": inst.qty_text(pos.size_lots), "positionValue": num(value),
        "tradeMode": 0, "positionStatus": "Normal", "autoAddMargin": 0,
        "adlRankIndicator": 2 if pos.size_lots else 0,
        "leverage": num(acct.spec.leverage), "breakEvenPrice": avg, "positionBalance": num(im),
        "markPrice": inst.price_text(mark_ticks), "liqPrice": num(acct.liq_price(pos)),
        "bustPrice": "", "positionMM": num(mm), "positionMMByMp": num(mm),
        "positionIM": num(im), "positionIMByMp": num(im), "tpslMode": "Full",
        "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
        "unrealisedPnl": num(pos.unrealised(mark_ticks)),
        "curRealisedPnl": num(pos.cur_realised), "cumRealisedPnl": num(pos.cum_realised),
        "seq": pos.seq, "isReduceOnly": False, "leverageSysUpdatedTime": "",
        "sessionAvgPrice": "", "createdTime": str(pos.created_ms),
        "updatedTime": str(pos.updated_ms), "avgPrice": avg, "entryPrice": avg,
        "mmrSysUpdateTime": "", "mmrSysUpdatedTime": "", "category": "linear",
    }
    return {k: full[k] for k in (WS_POSITION_KEYS if ws else REST_POSITION_KEYS)}


def wallet_item(acct: Account, marks: Marks) -> dict[str, object]:
    """The UNIFIED account with its USDT coin, same shape on REST and WebSocket: margin,
    unrealised PnL and equity sum every symbol's positions at that symbol's mark."""
    upl = acct.total_unrealised(marks)
    equity = acct.wallet + upl
    im, mm = acct.position_im(), acct.position_mm()
    order_im = acct.order_margin(marks)
    available = max(acct.available(marks), Decimal(0))
    rate = (mm / equity).quantize(Decimal("0.0001")) if equity > 0 else Decimal(0)
    coin = {
        "availableToBorrow": "", "bonus": "0", "accruedInterest": "0",
        "availableToWithdraw": num(available), "totalOrderIM": num(order_im),
        "equity": num(equity), "totalPositionMM": num(mm), "usdValue": num(equity),
        "spotHedgingQty": "0", "unrealisedPnl": num(upl), "collateralSwitch": True,
        "borrowAmount": "0", "totalPositionIM": num(im), "walletBalance": num(acct.wallet),
        "cumRealisedPnl": num(acct.cum_realised), "locked": "0", "marginCollateral": True,
        "coin": "USDT", "spotBorrow": "0",
    }
    return {
        "totalEquity": num(equity), "accountIMRate": num(rate), "accountIMRateByMp": num(rate),
        "totalMarginBalance": num(equity), "totalInitialMargin": num(im + order_im),
        "totalInitialMarginByMp": num(im + order_im), "accountType": "UNIFIED",
        "totalAvailableBalance": num(available), "accountMMRate": num(rate),
        "accountMMRateByMp": num(rate), "totalPerpUPL": num(upl),
        "totalWalletBalance": num(acct.wallet), "accountLTV": "0",
        "totalMaintenanceMargin": num(mm), "totalMaintenanceMarginByMp": num(mm),
        "coin": [coin],
    }
