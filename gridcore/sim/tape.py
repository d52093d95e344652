"""MarketTape: market events as columns, the form a fast replay can scan with numpy.

A day of a liquid perpetual is millions of trades and ticker updates; as Python objects
it would not fit the memory or time budget. The tape keeps one numpy column per field and
creates an event object only for the few events a replay must really step through
(:meth:`MarketTape.event`). Rows are in replay order (docs/validation.md):
``(exchange_ts, local_ts, source priority, seq)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from gridcore.events import BUY, SELL, FundingEvent, PublicTradeEvent, TickerEvent

#: Row kinds, equal to the events' source priorities so sorting by kind is replay order.
FUNDING = FundingEvent.SOURCE_PRIORITY
TRADE = PublicTradeEvent.SOURCE_PRIORITY
TICKER = TickerEvent.SOURCE_PRIORITY


@dataclass(frozen=True)
class MarketTape:
    """Columns of one symbol's market events.

    ``price`` is the trade price, the ticker's last price, or the funding mark price (NaN
    when unknown); ``size`` is the trade size or the funding rate (NaN for tickers);
    ``is_buy`` the taker side of a trade; ``seq`` orders rows sharing both timestamps.
    ``trade_ids`` holds the exchange's trade ids when known (else ``seq`` is used).
    """

    symbol: str
    ts: np.ndarray
    local_ts: np.ndarray
    kind: np.ndarray
    price: np.ndarray
    size: np.ndarray
    is_buy: np.ndarray
    seq: np.ndarray
    trade_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("local_ts", "kind", "price", "size", "is_buy", "seq"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: {len(getattr(self, name))} rows, ts has {n}")
        if self.trade_ids is not None and len(self.trade_ids) != n:
            raise ValueError(f"trade_ids: {len(self.trade_ids)} rows, ts has {n}")

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_rows(
        cls,
        symbol: str,
        *,
        ts: np.ndarray,
        kind: np.ndarray,
        price: np.ndarray,
        size: np.ndarray | None = None,
        is_buy: np.ndarray | None = None,
        local_ts: np.ndarray | None = None,
        seq: np.ndarray | None = None,
        trade_ids: np.ndarray | None = None,
    ) -> MarketTape:
        """Build a tape from columns in any order; sorts them into replay order."""
        n = len(ts)
        ts = np.asarray(ts, dtype=np.int64)
        columns = {
            "ts": ts,
            "local_ts": ts.copy() if local_ts is None else np.asarray(local_ts, dtype=np.int64),
            "kind": np.asarray(kind, dtype=np.int8),
            "price": np.asarray(price, dtype=np.float64),
            "size": np.full(n, np.nan) if size is None else np.asarray(size, dtype=np.float64),
            "is_buy": np.zeros(n, bool) if is_buy is None else np.asarray(is_buy, dtype=bool),
            "seq": np.arange(n, dtype=np.int64) if seq is None else np.asarray(seq, np.int64),
        }
        order = np.lexsort((columns["seq"], columns["kind"], columns["local_ts"], columns["ts"]))
        if not np.all(order == np.arange(n)):
            columns = {name: values[order] for name, values in columns.items()}
            trade_ids = None if trade_ids is None else np.asarray(trade_ids)[order]
        return cls(symbol=symbol, trade_ids=trade_ids, **columns)

    @classmethod
    def merge(cls, *tapes: MarketTape) -> MarketTape:
        """One tape holding every row of ``tapes`` (same symbol), in replay order."""
        symbols = {tape.symbol for tape in tapes}
        if len(symbols) != 1:
            raise ValueError(f"cannot merge tapes of several symbols: {sorted(symbols)}")
        ids = None
        if all(tape.trade_ids is not None for tape in tapes):
            ids = np.concatenate([tape.trade_ids for tape in tapes])
        return cls.from_rows(
            symbols.pop(), ts=np.concatenate([t.ts for t in tapes]),
            local_ts=np.concatenate([t.local_ts for t in tapes]),
            kind=np.concatenate([t.kind for t in tapes]),
            price=np.concatenate([t.price for t in tapes]),
            size=np.concatenate([t.size for t in tapes]),
            is_buy=np.concatenate([t.is_buy for t in tapes]),
            seq=np.concatenate([t.seq for t in tapes]), trade_ids=ids,
        )

    def window(self, start: int, stop: int) -> MarketTape:
        """Rows ``start:stop`` (views, no copy)."""
        ids = None if self.trade_ids is None else self.trade_ids[start:stop]
        return MarketTape(self.symbol, self.ts[start:stop], self.local_ts[start:stop],
                          self.kind[start:stop], self.price[start:stop], self.size[start:stop],
                          self.is_buy[start:stop], self.seq[start:stop], ids)

    def event(self, i: int) -> TickerEvent | PublicTradeEvent | FundingEvent:
        """Row ``i`` as an event object (decimals from the float's shortest repr)."""
        ts, local_ts, seq = int(self.ts[i]), int(self.local_ts[i]), int(self.seq[i])
        kind, price = int(self.kind[i]), float(self.price[i])
        if kind == TICKER:
            return TickerEvent(symbol=self.symbol, exchange_ts=ts, local_ts=local_ts, seq=seq,
                               last_price=Decimal(repr(price)))
        if kind == TRADE:
            trade_id = str(self.trade_ids[i]) if self.trade_ids is not None else str(seq)
            return PublicTradeEvent(
                symbol=self.symbol, exchange_ts=ts, local_ts=local_ts, seq=seq,
                trade_id=trade_id, side=BUY if self.is_buy[i] else SELL,
                price=Decimal(repr(price)), size=Decimal(repr(float(self.size[i]))),
            )
        if kind == FUNDING:
            return FundingEvent(
                symbol=self.symbol, exchange_ts=ts, local_ts=local_ts, seq=seq,
                funding_rate=Decimal(repr(float(self.size[i]))),
                mark_price=None if np.isnan(price) else Decimal(repr(price)),
            )
        raise ValueError(f"row {i}: unknown kind {kind}")

    def events(self) -> Iterator[TickerEvent | PublicTradeEvent | FundingEvent]:
        """Every row as an event object, in order (the per-event reference replay's feed)."""
        for i in range(len(self)):
            yield self.event(i)
