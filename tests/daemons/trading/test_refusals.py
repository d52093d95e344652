"""Refusals of a strategy's orders (docs/trading.md, "Executor").

Twenty refusals in a row for one reason latch a strategy whose orders the exchange will
not take. Not so the closing orders of a side closed since the last position check: the
legacy guard judges them by the size that check read (docs/strategy.md, rule 3.5) and the
next check ends them. Latching there stopped strategies in the trading benchmark a few
seconds after their long closed; sending them spent the account's order budget, so those
of a side the engine knows is flat are refused as Bybit would (110017) without being sent.
"""

from __future__ import annotations

from decimal import Decimal

from daemons.trading.runtime import FLAT_SIDE as REFUSED_HERE
from daemons.trading.runtime import REFUSALS_TO_LATCH
from gridcore.events import OrderUpdateEvent, PositionEvent
from gridcore.intents import PlaceLimitIntent
from tests.daemons.trading.runtime_kit import SYMBOL, T0, ScriptedExchange, make_runtime, ticker

FLAT_SIDE = "place_order: retCode 110017 current position is zero, cannot fix reduce-only"


def _long(size: str, ts: int) -> PositionEvent:
    value = Decimal(size) * Decimal("2318")
    return PositionEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, position_idx=1,
                         size=Decimal(size), entry_price=Decimal("2318") if value else Decimal(0),
                         position_value=value)


def _cancelled(intent: PlaceLimitIntent, ts: int) -> OrderUpdateEvent:
    return OrderUpdateEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts,
                            order_id=f"x-{intent.client_order_id}",
                            order_link_id=intent.client_order_id, side=intent.side,
                            price=intent.price, qty=intent.qty, order_status="Cancelled",
                            reduce_only=intent.reduce_only, position_idx=intent.position_idx)


def _closing_refused_after_long(db, closed_to: str) -> tuple[ScriptedExchange, object]:
    """A long of 0.9 read by the first check, its closing SELLs gone and the long now at
    ``closed_to``; the exchange refuses every closing order as for a flat side. Thirty
    tickers within the check interval."""
    exchange = ScriptedExchange(lambda i: FLAT_SIDE if i.reduce_only else None)
    runtime, _ = make_runtime(db, exchange)
    runtime.on_private(_long("0.9", T0 - 100), 0)
    runtime.on_market(ticker(T0), 1, 0, step=True)
    closing = [i for i in exchange.placed if i.reduce_only]
    assert closing, "the checked long of 0.9 gets closing SELLs"
    exchange.refused.clear()
    for intent in closing:  # filled meanwhile: the exchange says the orders are gone
        runtime.on_private(_cancelled(intent, T0 + 50), 0)
    runtime.on_private(_long(closed_to, T0 + 50), 0)
    for n in range(1, 31):
        runtime.on_market(ticker(T0 + 100 * n), 1, 0, step=True)
    return exchange, runtime


def test_closing_orders_of_a_side_flat_since_the_check_are_refused_unsent_never_latch(
        db) -> None:
    exchange, runtime = _closing_refused_after_long(db, closed_to="0")
    assert exchange.refused == [], "nothing of the flat side was sent"
    assert runtime.refused_flat_side > REFUSALS_TO_LATCH, "the legacy guard keeps deciding them"
    assert runtime.latched is None
    assert REFUSED_HERE.startswith("110017")


def test_closing_orders_of_a_side_shrunk_since_the_check_do_not_latch(db) -> None:
    """Partly closed: they go out, the exchange refuses them, the next check ends them."""
    exchange, runtime = _closing_refused_after_long(db, closed_to="0.09")
    assert len(exchange.refused) > REFUSALS_TO_LATCH
    assert runtime.latched is None


def test_closing_orders_refused_for_a_side_the_engine_still_holds_latch(db) -> None:
    """The same refusals while the engine's newest view still holds the long are not the
    guard's lag: the exchange and the engine disagree, and the strategy is latched."""
    exchange, runtime = _closing_refused_after_long(db, closed_to="0.9")
    assert len(exchange.refused) >= REFUSALS_TO_LATCH
    assert runtime.latched is not None and "110017" in runtime.latched
