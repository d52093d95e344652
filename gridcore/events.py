"""Events: everything the strategy can learn about the world, as immutable values.

The live bot and the backtest feed the same event types to the same engine, so a decision
can always be traced to the event that caused it. Times are integer milliseconds UTC:
``exchange_ts`` is the exchange's own stamp, ``local_ts`` when this system received the
event (equal to ``exchange_ts`` for simulated events). Prices, quantities and money are
``Decimal`` because they arrive as decimal strings and are stored as NUMERIC.

Replay order is :meth:`Event.order_key`: ``(exchange_ts, local_ts, source priority, seq)``,
a total order, so two replays of the same window are identical (docs/validation.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

BUY = "Buy"
SELL = "Sell"

#: Order statuses after which an order no longer rests on the book.
FINAL_ORDER_STATUSES = frozenset(
    {"Filled", "Cancelled", "Rejected", "Deactivated", "PartiallyFilledCanceled"}
)

#: Statuses of a conditional order waiting for (or passing) its trigger: not on the book.
CONDITIONAL_ORDER_STATUSES = frozenset({"Untriggered", "Triggered"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every event has; see the module docstring for the time convention.

    ``seq`` orders events of one source that share both timestamps (a trade id, Bybit's
    ``seq``, or the position in a captured batch).
    """

    SOURCE_PRIORITY: ClassVar[int] = 9

    symbol: str
    exchange_ts: int
    local_ts: int
    seq: int = 0
    user_id: str | None = None
    account_id: str | None = None
    run_id: str | None = None

    def order_key(self) -> tuple[int, int, int, int]:
        """Total replay order: exchange time, receipt time, source priority, sequence."""
        return (self.exchange_ts, self.local_ts, self.SOURCE_PRIORITY, self.seq)


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingEvent(Event):
    """A funding settlement: positions pay ``mark × size × rate`` (longs pay when > 0)."""

    SOURCE_PRIORITY: ClassVar[int] = 0

    funding_rate: Decimal
    mark_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicTradeEvent(Event):
    """One public trade; ``side`` is the taker's side, as Bybit reports it."""

    SOURCE_PRIORITY: ClassVar[int] = 1

    trade_id: str
    side: str
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class TickerEvent(Event):
    """Merged ticker state after a snapshot or delta; drives one strategy step."""

    SOURCE_PRIORITY: ClassVar[int] = 2

    last_price: Decimal
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    bid1_price: Decimal | None = None
    ask1_price: Decimal | None = None
    funding_rate: Decimal | None = None
    next_funding_time: int | None = None


def is_plain_limit(order_type: str, stop_order_type: str, order_status: str) -> bool:
    """A limit order that is not conditional: the only kind a grid is made of.

    Rule 3.4.1 takes the direction's open *limit* orders; a user's stop-loss or
    take-profit (conditional, often a market order) must be neither counted nor cancelled
    by the engine, nor rest in a replay seeded from the live account. ``stop_order_type``
    is "" for a plain order (the normaliser maps Bybit's "UNKNOWN" to "").
    """
    return (order_type == "Limit" and not stop_order_type
            and order_status not in CONDITIONAL_ORDER_STATUSES)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdateEvent(Event):
    """The exchange's view of one order after a change (Bybit's ``order`` stream).

    ``stop_order_type`` is Bybit's ``stopOrderType`` ("" for a plain order; "StopLoss",
    "TakeProfit", "Stop", ... for a conditional or TP/SL one).
    """

    SOURCE_PRIORITY: ClassVar[int] = 3

    order_id: str
    order_link_id: str
    side: str
    price: Decimal
    qty: Decimal
    order_status: str
    reduce_only: bool = False
    position_idx: int = 0
    cum_exec_qty: Decimal = Decimal(0)
    leaves_qty: Decimal = Decimal(0)
    order_type: str = "Limit"
    stop_order_type: str = ""
    reject_reason: str = ""

    @property
    def is_open(self) -> bool:
        """Whether the order still rests on the book after this update."""
        return self.order_status not in FINAL_ORDER_STATUSES

    @property
    def is_plain_limit(self) -> bool:
        """See :func:`is_plain_limit`."""
        return is_plain_limit(self.order_type, self.stop_order_type, self.order_status)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionEvent(Event):
    """One fill (or funding settlement, ``exec_type="Funding"``) of the account."""

    SOURCE_PRIORITY: ClassVar[int] = 4

    exec_id: str
    order_id: str
    order_link_id: str
    side: str
    exec_price: Decimal
    exec_qty: Decimal
    exec_fee: Decimal = Decimal(0)
    fee_rate: Decimal = Decimal(0)
    leaves_qty: Decimal = Decimal(0)
    closed_size: Decimal = Decimal(0)
    exec_type: str = "Trade"
    is_maker: bool = True

    @property
    def is_full_fill(self) -> bool:
        """A trade that leaves nothing of its order (docs/strategy.md section 4)."""
        return self.exec_type == "Trade" and self.leaves_qty == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionEvent(Event):
    """One side of a hedge-mode position (``position_idx`` 1 long, 2 short)."""

    SOURCE_PRIORITY: ClassVar[int] = 5

    position_idx: int
    size: Decimal
    entry_price: Decimal
    leverage: Decimal = Decimal(10)
    liq_price: Decimal | None = None
    mark_price: Decimal | None = None
    position_value: Decimal = Decimal(0)
    unrealised_pnl: Decimal = Decimal(0)
    cum_realised_pnl: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CoinBalance:
    """One coin of the wallet: its balance and that balance's USD value."""

    coin: str
    wallet_balance: Decimal
    usd_value: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class WalletEvent(Event):
    """The account's wallet; ``symbol`` is empty because a wallet spans symbols."""

    SOURCE_PRIORITY: ClassVar[int] = 6

    coins: tuple[CoinBalance, ...]

    @property
    def sizing_balance(self) -> Decimal:
        """USDT wallet balance plus the USD value of the other coins (docs/strategy.md 5.1)."""
        total = Decimal(0)
        for coin in self.coins:
            total += coin.wallet_balance if coin.coin == "USDT" else coin.usd_value
        return total


MarketEvent = TickerEvent | PublicTradeEvent | FundingEvent
AccountEvent = OrderUpdateEvent | ExecutionEvent | PositionEvent | WalletEvent
AnyEvent = MarketEvent | AccountEvent
