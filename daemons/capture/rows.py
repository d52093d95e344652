"""Events to table rows: tuples in the column order of ``daemons.db.copy_writer.TABLES``.

Each function takes the validated gridcore event and the raw Bybit item it came from:
the event carries what the strategy needs, the raw item the extra columns the tables keep
(``raw_json``, turnover, fees) so that validation can always go back to what Bybit said.
Times become timezone-aware datetimes (the data layer refuses naive ones), money stays
``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from daemons.bybit.parsing import opt_dec, opt_int, ticker_extras
from daemons.db.copy_writer import EventTable
from daemons.db.times import datetime_of_ms, ms_of_datetime
from gridcore.events import (
    ExecutionEvent,
    FundingEvent,
    OrderUpdateEvent,
    PositionEvent,
    PublicTradeEvent,
    TickerEvent,
    WalletEvent,
)

Row = tuple[Any, ...]

#: Capture gaps go through the same COPY writer (key: the gap's own id).
GAPS = EventTable("capture_gaps", (
    "gap_id", "account_id", "stream", "symbol", "window_start", "window_end", "reason",
    "filled", "rows_recovered", "detail"), ("gap_id",))
#: Not a COPY table: quarantined messages are rare and stored one by one.
QUARANTINE = "raw_quarantine"


#: Shorter names used throughout the row mappers.
ts = datetime_of_ms
ms = ms_of_datetime


def public_trade(e: PublicTradeEvent, is_block_trade: bool = False) -> Row:
    return (e.symbol, e.trade_id, ts(e.exchange_ts), ts(e.local_ts), e.side, e.price, e.size,
            is_block_trade)


def ticker(e: TickerEvent, data: Mapping[str, Any]) -> Row:
    extra = ticker_extras(data)
    next_funding = ts(e.next_funding_time) if e.next_funding_time else None
    return (e.symbol, ts(e.exchange_ts), e.seq, ts(e.local_ts), e.last_price, e.mark_price,
            e.index_price, e.bid1_price, extra["bid1_size"], e.ask1_price, extra["ask1_size"],
            e.funding_rate, next_funding, extra["open_interest"], extra["volume_24h"],
            extra["turnover_24h"])


def funding(e: FundingEvent) -> Row:
    return (e.symbol, ts(e.exchange_ts), ts(e.local_ts), e.funding_rate, e.mark_price)


def order(e: OrderUpdateEvent, raw: Mapping[str, Any], account_id: UUID) -> Row:
    where = "order"
    created = opt_int(raw, "createdTime", where, default=-1)
    return (account_id, None, e.symbol, e.order_id, e.order_link_id or None, e.side,
            e.order_type, e.price if e.price > 0 else None, e.qty, e.order_status,
            raw.get("timeInForce") or None, e.reduce_only, e.position_idx, e.cum_exec_qty,
            opt_dec(raw, "cumExecValue", where), opt_dec(raw, "cumExecFee", where),
            e.leaves_qty, ts(created) if created >= 0 else None, ts(e.exchange_ts),
            ts(e.local_ts), dict(raw))


def execution(e: ExecutionEvent, raw: Mapping[str, Any], account_id: UUID) -> Row:
    closed_pnl = opt_dec(raw, "execPnl", "execution", default=Decimal(0))
    return (account_id, None, e.symbol, e.exec_id, e.order_id, e.order_link_id or None,
            ts(e.exchange_ts), ts(e.local_ts), e.side, e.exec_price, e.exec_qty, e.exec_fee,
            e.fee_rate, e.exec_type, e.is_maker, closed_pnl, dict(raw))


def position(e: PositionEvent, raw: Mapping[str, Any], account_id: UUID) -> Row:
    side = raw.get("side")
    return (account_id, e.symbol, e.position_idx, e.seq,
            side if side in ("Buy", "Sell") else None, e.size, e.entry_price, e.mark_price,
            e.liq_price, e.position_value, e.leverage, e.unrealised_pnl, e.cum_realised_pnl,
            raw.get("positionStatus") or None, ts(e.exchange_ts), ts(e.local_ts), dict(raw))


def wallet(e: WalletEvent, raw: Mapping[str, Any], account_id: UUID) -> list[Row]:
    """One row per coin; account-wide margins repeated on each."""
    where = "wallet"
    account_type = raw.get("accountType") or "UNIFIED"
    initial = opt_dec(raw, "totalInitialMargin", where)
    maintenance = opt_dec(raw, "totalMaintenanceMargin", where)
    coins = {c.get("coin"): c for c in raw.get("coin", []) if isinstance(c, Mapping)}
    rows = []
    for balance in e.coins:
        c = coins.get(balance.coin, {})
        rows.append((account_id, account_type, balance.coin, balance.wallet_balance,
                     opt_dec(c, "equity", where), opt_dec(c, "availableToWithdraw", where),
                     opt_dec(c, "unrealisedPnl", where), opt_dec(c, "cumRealisedPnl", where),
                     initial, maintenance, ts(e.exchange_ts), ts(e.local_ts),
                     {**raw, "coin": [c]}))
    return rows


def gap(gap_id: UUID, *, stream: str, symbol: str | None, start_ms: int, end_ms: int,
        reason: str, filled: bool, rows_recovered: int = 0, detail: str | None = None,
        account_id: UUID | None = None) -> Row:
    return (gap_id, account_id, stream, symbol, ts(start_ms), ts(max(end_ms, start_ms)),
            reason, filled, rows_recovered, detail)
