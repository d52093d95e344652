"""Events to table rows: tuples in the column order of ``daemons.db.copy_writer.TABLES``.

Each function takes the validated gridcore event, the extra columns the normaliser
validated beside it (``daemons.bybit.parsing``: turnover, fees, creation time) and, for
private rows, the raw Bybit item, kept as ``raw_json`` so that validation can always go
back to what Bybit said. Nothing here validates or raises: whatever the normaliser
accepted can be stored. Capture and the trading daemon build their rows here, so both
store an event the same way; an order or execution may name the run it belongs to
(``run_id``: the trading daemon's live run; capture leaves it NULL). Times become
timezone-aware datetimes (the data layer refuses naive ones), money stays ``Decimal``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

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
#: The private topics and their tables.
PRIVATE_TABLES = {"order": "orders", "execution": "private_executions",
                  "position": "positions", "wallet": "wallets"}


#: Shorter names used throughout the row mappers.
ts = datetime_of_ms
ms = ms_of_datetime


def quarantine(account_id: UUID | None, source: str, topic: str | None, payload: Any,
               error: str, local_ms: int) -> Row:
    """A ``raw_quarantine`` row as the writer takes it (see ``daemons.db.quarantine``):
    a refused item as JSON text, or the text of a frame that was not JSON."""
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    return (account_id, source, topic, text, error, None, ts(local_ms))


def public_trades(pairs: Iterable[tuple[PublicTradeEvent, bool]],
                  ) -> tuple[list[PublicTradeEvent], list[Row]]:
    """Decoded trades (``daemons.bybit.items.trades``) as events and as rows."""
    decoded = list(pairs)
    return [e for e, _ in decoded], [public_trade(e, block) for e, block in decoded]


def public_trade(e: PublicTradeEvent, is_block_trade: bool = False) -> Row:
    return (e.symbol, e.trade_id, ts(e.exchange_ts), ts(e.local_ts), e.side, e.price, e.size,
            is_block_trade)


def ticker(e: TickerEvent, extra: Mapping[str, Decimal | None]) -> Row:
    next_funding = None if e.next_funding_time is None else ts(e.next_funding_time)
    return (e.symbol, ts(e.exchange_ts), e.seq, ts(e.local_ts), e.last_price, e.mark_price,
            e.index_price, e.bid1_price, extra["bid1_size"], e.ask1_price, extra["ask1_size"],
            e.funding_rate, next_funding, extra["open_interest"], extra["volume_24h"],
            extra["turnover_24h"])


def funding(e: FundingEvent) -> Row:
    return (e.symbol, ts(e.exchange_ts), ts(e.local_ts), e.funding_rate, e.mark_price)


def order(e: OrderUpdateEvent, extra: Mapping[str, Any], raw: Mapping[str, Any],
          account_id: UUID, run_id: UUID | None = None) -> Row:
    created = extra["created_ts"]
    return (account_id, run_id, e.symbol, e.order_id, e.order_link_id or None, e.side,
            e.order_type, e.price if e.price > 0 else None, e.qty, e.order_status,
            extra["time_in_force"], e.reduce_only, e.position_idx, e.cum_exec_qty,
            extra["cum_exec_value"], extra["cum_exec_fee"], e.leaves_qty,
            None if created is None else ts(created), ts(e.exchange_ts), ts(e.local_ts),
            dict(raw))


def execution(e: ExecutionEvent, extra: Mapping[str, Any], raw: Mapping[str, Any],
              account_id: UUID, run_id: UUID | None = None) -> Row:
    return (account_id, run_id, e.symbol, e.exec_id, e.order_id, e.order_link_id or None,
            ts(e.exchange_ts), ts(e.local_ts), e.side, e.exec_price, e.exec_qty, e.exec_fee,
            e.fee_rate, e.exec_type, e.is_maker, extra["closed_pnl"], dict(raw))


def position(e: PositionEvent, extra: Mapping[str, Any], raw: Mapping[str, Any],
             account_id: UUID) -> Row:
    return (account_id, e.symbol, e.position_idx, e.seq, extra["side"], e.size,
            e.entry_price, e.mark_price, e.liq_price, e.position_value, e.leverage,
            e.unrealised_pnl, e.cum_realised_pnl, extra["position_status"],
            ts(e.exchange_ts), ts(e.local_ts), dict(raw))


def wallet(e: WalletEvent, extra: Mapping[str, Any], raw: Mapping[str, Any],
           account_id: UUID) -> list[Row]:
    """One row per coin; account-wide margins repeated on each, its own coin in raw_json."""
    coins = {c["coin"]: c for c in raw["coin"]}
    rows = []
    for balance in e.coins:
        c = extra["coins"][balance.coin]
        rows.append((account_id, extra["account_type"], balance.coin, balance.wallet_balance,
                     c["equity"], c["availableToWithdraw"], c["unrealisedPnl"],
                     c["cumRealisedPnl"], extra["total_initial_margin"],
                     extra["total_maintenance_margin"], ts(e.exchange_ts), ts(e.local_ts),
                     {**raw, "coin": [coins[balance.coin]]}))
    return rows


def private_rows(e: OrderUpdateEvent | ExecutionEvent | PositionEvent | WalletEvent,
                 extra: Mapping[str, Any], raw: Mapping[str, Any], account_id: UUID,
                 run_id: UUID | None = None) -> list[Row]:
    """The rows of one decoded private item (``daemons.bybit.private``), for the table
    ``PRIVATE_TABLES`` names for its topic; ``run_id`` goes to orders and executions."""
    if isinstance(e, OrderUpdateEvent):
        return [order(e, extra, raw, account_id, run_id)]
    if isinstance(e, ExecutionEvent):
        return [execution(e, extra, raw, account_id, run_id)]
    if isinstance(e, PositionEvent):
        return [position(e, extra, raw, account_id)]
    return wallet(e, extra, raw, account_id)


def gap(gap_id: UUID, *, stream: str, symbol: str | None, start_ms: int, end_ms: int,
        reason: str, filled: bool, rows_recovered: int = 0, detail: str | None = None,
        account_id: UUID | None = None) -> Row:
    return (gap_id, account_id, stream, symbol, ts(start_ms), ts(max(end_ms, start_ms)),
            reason, filled, rows_recovered, detail)
