"""A shadow strategy's trades that overtook an earlier-stamped ticker wait for it
(``daemons/trading/arrival.py``); tickers never wait."""

from __future__ import annotations

from decimal import Decimal

from daemons.trading.arrival import HOLD_LIMIT_NS, Arrival, TradeHold
from gridcore.events import PublicTradeEvent
from tests.daemons.trading.runtime_kit import SYMBOL, ticker


def trade(ts: int, trade_id: str) -> PublicTradeEvent:
    return PublicTradeEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, trade_id=trade_id,
                            side="Buy", price=Decimal("2319"), size=Decimal("0.1"))


def ids(arrivals: list[Arrival]) -> list[str]:
    return [getattr(a.event, "trade_id", f"ticker@{a.event.exchange_ts}") for a in arrivals]


def test_trades_ahead_of_a_ticker_are_stepped_just_before_it_in_exchange_order() -> None:
    hold = TradeHold()
    assert ids(hold.admit(Arrival(ticker(1_000), 1))) == ["ticker@1000"]
    # Printed after the ticker at 1,100 was stamped, delivered before it:
    assert hold.admit(Arrival(trade(1_130, "b"), 2)) == []
    assert hold.admit(Arrival(trade(1_100, "a"), 3)) == []  # same millisecond as the ticker
    assert hold.admit(Arrival(trade(1_250, "c"), 4)) == []
    assert len(hold) == 3
    # The ticker releases what is stamped up to its own time, a trade of its millisecond first:
    assert ids(hold.admit(Arrival(ticker(1_200), 5))) == ["a", "b", "ticker@1200"]
    # A trade stamped before the newest ticker has nothing to wait for:
    assert ids(hold.admit(Arrival(trade(1_150, "late"), 6))) == ["late"]
    assert ids(hold.drain()) == ["c"] and len(hold) == 0


def test_a_trade_is_released_late_rather_never_when_no_ticker_comes() -> None:
    now = [500_000_000]
    hold = TradeHold(clock=lambda: now[0])
    hold.admit(Arrival(ticker(1_000), 0))
    # Received long before it was held (a worker behind its queue): its hold is what counts.
    hold.admit(Arrival(trade(1_300, "b"), 0))
    now[0] += 400
    hold.admit(Arrival(trade(1_200, "a"), 0))
    now[0] = 500_000_000 + HOLD_LIMIT_NS - 1
    assert hold.overdue() == []
    now[0] += 1
    assert ids(hold.overdue()) == ["a", "b"]
    assert len(hold) == 0 and hold.overdue() == []
