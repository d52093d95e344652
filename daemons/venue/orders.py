"""Orders and executions as the matching engine and the accounts see them.

Prices are integer ticks and quantities integer lots inside the venue (exact and fast);
they become Bybit's decimal strings only in ``payloads``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from daemons.venue.instruments import Instrument

OPEN_STATUSES = frozenset({"Created", "New", "PartiallyFilled"})


def new_id(rng: random.Random) -> str:
    """A UUID4-shaped id drawn from the venue's seeded generator (reproducible runs)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fast_id(rng: random.Random) -> str:
    """A UUID-shaped public trade id, cheaper than :func:`new_id` (one per tape print)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


@dataclass(eq=False)
class Order:
    """A live or finished order; ``ahead`` is the volume queued before it at its price."""

    order_id: str
    order_link_id: str
    account: str
    inst: Instrument
    side: str
    order_type: str
    price_ticks: int
    qty_lots: int
    position_idx: int
    time_in_force: str
    reduce_only: bool
    created_ms: int
    seq: int
    status: str = "Created"
    updated_ms: int = 0
    leaves_lots: int = 0
    cum_lots: int = 0
    cum_value: Decimal = Decimal(0)
    cum_fee: Decimal = Decimal(0)
    closed_pnl: Decimal = Decimal(0)
    ahead: int = 0
    reject_reason: str = "EC_NoError"
    cancel_type: str = "UNKNOWN"
    cancel_pending: bool = False
    last_price_on_created: int = 0

    def __post_init__(self) -> None:
        self.leaves_lots = self.qty_lots
        self.updated_ms = self.created_ms

    @property
    def symbol(self) -> str:
        return self.inst.symbol

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_buy(self) -> bool:
        return self.side == "Buy"

    @property
    def opens_position(self) -> bool:
        """Hedge mode: Buy on the long side (1) and Sell on the short side (2) open."""
        return (self.position_idx == 1) == self.is_buy


@dataclass(frozen=True)
class Execution:
    """One fill (or a funding payment, ``exec_type="Funding"``) of one account."""

    exec_id: str
    account: str
    inst: Instrument
    order_id: str
    order_link_id: str
    side: str
    order_type: str
    order_price: Decimal
    order_qty: Decimal
    exec_price: Decimal
    exec_qty: Decimal
    exec_fee: Decimal
    fee_rate: Decimal
    is_maker: bool
    closed_size: Decimal
    exec_pnl: Decimal
    leaves_qty: Decimal
    mark_price: Decimal
    exec_time_ms: int
    seq: int
    exec_type: str = "Trade"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return self.inst.symbol
