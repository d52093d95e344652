"""Events are immutable values with a total replay order (events.py, docs/validation.md)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from gridcore.events import (
    BUY,
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

ONE = Decimal(1)


def _make(cls: type[Event], ts: int = 1, local_ts: int = 1, seq: int = 0) -> Event:
    """One event of ``cls`` with only its required fields set."""
    common = {"symbol": "BTCUSDT", "exchange_ts": ts, "local_ts": local_ts, "seq": seq}
    extra = {
        FundingEvent: {"funding_rate": ONE},
        PublicTradeEvent: {"trade_id": "t", "side": BUY, "price": ONE, "size": ONE},
        TickerEvent: {"last_price": ONE},
        OrderUpdateEvent: {"order_id": "o", "order_link_id": "", "side": BUY, "price": ONE,
                           "qty": ONE, "order_status": "New"},
        ExecutionEvent: {"exec_id": "x", "order_id": "o", "order_link_id": "", "side": BUY,
                         "exec_price": ONE, "exec_qty": ONE},
        PositionEvent: {"position_idx": 1, "size": ONE, "entry_price": ONE},
        WalletEvent: {"coins": (CoinBalance("USDT", ONE, ONE),)},
    }[cls]
    return cls(**common, **extra)


#: Source priority at equal timestamps, first to last (docs/validation.md, "Event ordering").
IN_PRIORITY = [FundingEvent, PublicTradeEvent, TickerEvent, OrderUpdateEvent, ExecutionEvent,
               PositionEvent, WalletEvent]


@pytest.mark.parametrize("cls", IN_PRIORITY, ids=lambda c: c.__name__)
def test_event_is_frozen(cls: type[Event]) -> None:
    event = _make(cls)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.exchange_ts = 2  # type: ignore[misc]


@pytest.mark.parametrize("cls", IN_PRIORITY, ids=lambda c: c.__name__)
def test_event_is_slotted(cls: type[Event]) -> None:
    """Slots keep a day of events small; no instance dict means no stray attributes."""
    event = _make(cls)
    assert "__slots__" in vars(cls) and not hasattr(event, "__dict__")


@pytest.mark.parametrize("cls", IN_PRIORITY, ids=lambda c: c.__name__)
def test_event_optional_ids_default_to_none(cls: type[Event]) -> None:
    event = _make(cls)
    assert (event.user_id, event.account_id, event.run_id) == (None, None, None)


def test_event_same_timestamps_order_by_source_priority() -> None:
    events = [_make(cls, seq=9 - n) for n, cls in enumerate(IN_PRIORITY)]
    assert [type(e) for e in sorted(reversed(events), key=Event.order_key)] == IN_PRIORITY


def test_event_order_key_compares_exchange_then_local_time_then_source_then_seq() -> None:
    ordered = [
        _make(WalletEvent, ts=1, local_ts=5),  # earliest exchange time wins
        _make(FundingEvent, ts=2, local_ts=1),  # then the earliest receipt
        _make(TickerEvent, ts=2, local_ts=2, seq=7),  # then source priority, then seq
        _make(TickerEvent, ts=2, local_ts=2, seq=8),
        _make(PositionEvent, ts=2, local_ts=2, seq=0),
        _make(FundingEvent, ts=2, local_ts=3),
    ]
    assert sorted(reversed(ordered), key=Event.order_key) == ordered
    assert len({e.order_key() for e in ordered}) == len(ordered)
