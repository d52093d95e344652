"""gridcore events as JSON documents and back, exactly (the engine journal's format).

The trading daemon journals every event it feeds an engine (``engine_inputs``) and the
event behind every decision (``engine_decisions.trigger_event``); a replay reads them back
and must get the very same events, so decimals travel as strings and every field is kept.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from gridcore.events import (
    CoinBalance,
    Event,
    ExecutionEvent,
    FundingEvent,
    OrderUpdateEvent,
    PositionEvent,
    PublicTradeEvent,
    TickerEvent,
    WalletEvent,
)

#: The journal's ``kind`` of each event type.
KINDS: dict[type[Event], str] = {
    TickerEvent: "ticker", PublicTradeEvent: "trade", FundingEvent: "funding",
    OrderUpdateEvent: "order", ExecutionEvent: "execution", PositionEvent: "position",
    WalletEvent: "wallet",
}
_TYPES = {kind: cls for cls, kind in KINDS.items()}
_DECIMALS = {cls: {f.name for f in dataclasses.fields(cls) if "Decimal" in str(f.type)}
             for cls in KINDS}


def kind_of(event: Event) -> str:
    return KINDS[type(event)]


def to_document(event: Event) -> dict[str, Any]:
    """Every field of ``event`` as JSON values (decimals as strings)."""
    document: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, Decimal):
            value = str(value)
        elif f.name == "coins":
            value = [[c.coin, str(c.wallet_balance), str(c.usd_value)] for c in value]
        document[f.name] = value
    return document


def from_document(kind: str, document: dict[str, Any]) -> Event:
    """The event :func:`to_document` made; ``ValueError`` for an unknown kind."""
    cls = _TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    values = dict(document)
    for name in _DECIMALS[cls]:
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    if cls is WalletEvent:
        values["coins"] = tuple(CoinBalance(c, Decimal(b), Decimal(u))
                                for c, b, u in values["coins"])
    return cls(**values)
