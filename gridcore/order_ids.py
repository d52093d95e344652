"""Order identity: deterministic client ids that decode back to the decision behind them.

Format (sent as Bybit's ``orderLinkId``, at most 36 characters of ``[A-Za-z0-9_-]``)::

    g<strategy>-<d><s><price ticks, base 36>-<sequence, base 36>

with ``d`` = ``L``/``S`` for the long/short direction and ``s`` = ``B``/``S`` for Buy/Sell.
Live fills and simulated fills are matched on the decoded (strategy, direction, side,
ticks) key (docs/validation.md), so the same decision gets the same id in live and in replay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gridcore.events import BUY, SELL
from gridcore.intents import LONG, SHORT

MAX_LENGTH = 36
_STRATEGY = re.compile(r"^[A-Za-z0-9]{1,12}$")
_ID = re.compile(r"g([A-Za-z0-9]{1,12})-([LS])([BS])([0-9a-z]+)-([0-9a-z]+)")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_DIRECTION_CODE = {LONG: "L", SHORT: "S"}
_SIDE_CODE = {BUY: "B", SELL: "S"}


@dataclass(frozen=True, slots=True)
class OrderKey:
    """What a client id says: who decided, which grid order, and the how-many-th."""

    strategy_id: str
    direction: str
    side: str
    price_ticks: int
    sequence: int

    @property
    def match_key(self) -> tuple[str, str, str, int]:
        """The part shared by a live order and its simulated twin (sequence excluded)."""
        return (self.strategy_id, self.direction, self.side, self.price_ticks)


def validate_strategy_id(strategy_id: str) -> str:
    """Refuse ids that would not fit or would break decoding; return the id."""
    if not isinstance(strategy_id, str) or _STRATEGY.match(strategy_id) is None:
        raise ValueError(
            f"strategy_id: must be 1 to 12 letters or digits, got {strategy_id!r}"
        )
    return strategy_id


def _base36(value: int) -> str:
    if value < 0:
        raise ValueError(f"must be >= 0, got {value}")
    digits = []
    while True:
        value, rest = divmod(value, 36)
        digits.append(_DIGITS[rest])
        if value == 0:
            return "".join(reversed(digits))


def encode(key: OrderKey) -> str:
    """The client id of ``key``; raises ``ValueError`` if it cannot be represented."""
    validate_strategy_id(key.strategy_id)
    text = (
        f"g{key.strategy_id}-{_DIRECTION_CODE[key.direction]}{_SIDE_CODE[key.side]}"
        f"{_base36(key.price_ticks)}-{_base36(key.sequence)}"
    )
    if len(text) > MAX_LENGTH:
        raise ValueError(f"client id longer than {MAX_LENGTH} characters: {text!r}")
    return text


def decode(client_order_id: str) -> OrderKey | None:
    """The key behind a gridcore client id, or ``None`` for an order gridcore did not name.

    Only the exact text :func:`encode` gives is accepted (no leading zeros, no trailing
    newline, no over-long id), so every key has exactly one id.
    """
    match = _ID.fullmatch(client_order_id or "")
    if match is None or len(client_order_id) > MAX_LENGTH:
        return None
    strategy_id, direction, side, ticks, sequence = match.groups()
    key = OrderKey(
        strategy_id=strategy_id,
        direction=LONG if direction == "L" else SHORT,
        side=BUY if side == "B" else SELL,
        price_ticks=int(ticks, 36),
        sequence=int(sequence, 36),
    )
    return key if encode(key) == client_order_id else None
