"""The fill models, rule by rule, as docs/validation.md's table states them.

Every case is written for BUY orders around 100 and run twice: as written, and mirrored
for SELL (prices reflected around 100, so "through" a SELL is above it). Cases go through
:class:`SimBroker`, because best-price-first and the sharing of one trade's volume between
orders ("one unit of traded volume never fills two orders beyond its size") are the
broker's business as much as the model's.

Orders are placed in the order listed, one millisecond apart; the prints come later, once
every order rests. A print is ``("trade", price, size)`` or ``("ticker", price)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from gridcore.events import BUY, SELL, OrderUpdateEvent, PublicTradeEvent, TickerEvent
from gridcore.intents import LONG, SHORT, CancelIntent, PlaceLimitIntent
from gridcore.sim.broker import SimBroker
from gridcore.sim.models import FillModelName, make_fill_model

SYMBOL = "BTCUSDT"
T0 = 1_700_000_000_000
PRINTS_AT = T0 + 1_000
OPTIMISTIC, CONSERVATIVE, PESSIMISTIC, QUEUE = (m.value for m in FillModelName)

Print = tuple[str, str] | tuple[str, str, str]


@dataclass(frozen=True)
class Case:
    """One rule row: BUY orders ``(link, price, qty)``, prints, and the fills they must give."""

    rule: str
    model: str
    orders: tuple[tuple[str, str, str], ...]
    prints: tuple[Print, ...]
    fills: tuple[tuple[str, str], ...]
    queue_ahead: float = 0.0


def one(price: str = "100", qty: str = "1.000") -> tuple[tuple[str, str, str], ...]:
    """One BUY of quantity 1 with a 0.001 step (the QUEUE model fills in the order's step)."""
    return (("a", price, qty),)


CASES = [
    # OPTIMISTIC: the last price (ticker or trade) at or below X fills all of Q.
    Case("ticker at X fills all", OPTIMISTIC, one(), (("ticker", "100"),), (("a", "1"),)),
    Case("ticker through X fills all", OPTIMISTIC, one(), (("ticker", "99"),), (("a", "1"),)),
    Case("ticker short of X fills nothing", OPTIMISTIC, one(), (("ticker", "100.1"),), ()),
    Case("tiny trade at X fills all", OPTIMISTIC, one(), (("trade", "100", "0.001"),),
         (("a", "1"),)),
    Case("price only: a tiny trade fills every order it reaches", OPTIMISTIC,
         (("a", "99", "1.000"), ("b", "100", "1.000")), (("trade", "98", "0.001"),),
         (("b", "1"), ("a", "1"))),
    # CONSERVATIVE: a public trade at or below X fills all of Q; tickers never fill.
    Case("ticker through X never fills", CONSERVATIVE, one(), (("ticker", "90"),), ()),
    Case("tiny trade at X fills all (not strict)", CONSERVATIVE, one(),
         (("trade", "100", "0.001"),), (("a", "1"),)),
    Case("trade through X fills all", CONSERVATIVE, one(), (("trade", "99", "0.5"),),
         (("a", "1"),)),
    Case("trade short of X fills nothing", CONSERVATIVE, one(), (("trade", "100.1", "5"),), ()),
    Case("a tiny trade fills the best-priced order only, never two", CONSERVATIVE,
         (("a", "99", "1.000"), ("b", "100", "1.000")), (("trade", "98", "0.001"),),
         (("b", "1"),)),
    Case("volume left after the best order fills the next", CONSERVATIVE,
         (("a", "99", "1.000"), ("b", "100", "1.000")), (("trade", "98", "1.5"),),
         (("b", "1"), ("a", "1"))),
    # PESSIMISTIC: volume at or below X since t0 exceeding Q fills all of Q, at once.
    Case("ticker through X never fills", PESSIMISTIC, one(), (("ticker", "90"),), ()),
    Case("volume equal to Q does not fill (strictly exceeds)", PESSIMISTIC, one(),
         (("trade", "100", "1"),), ()),
    Case("volume above Q at X fills all", PESSIMISTIC, one(), (("trade", "100", "1.5"),),
         (("a", "1"),)),
    Case("volume adds up over trades at and through X", PESSIMISTIC, one(),
         (("trade", "100", "0.5"), ("trade", "99", "0.75")), (("a", "1"),)),
    Case("no partial fill below Q", PESSIMISTIC, one(), (("trade", "99", "0.9"),), ()),
    Case("trades short of X do not count", PESSIMISTIC, one(),
         (("trade", "100.1", "5"), ("trade", "100", "0.5")), ()),
    Case("one trade large enough fills two orders, best price first", PESSIMISTIC,
         (("a", "99", "1.000"), ("b", "100", "1.000")), (("trade", "98", "5"),),
         (("b", "1"), ("a", "1"))),
    Case("the best order keeps only Q of the volume; the rest counts for the next",
         PESSIMISTIC, (("a", "99", "1.000"), ("b", "100", "1.000")),
         (("trade", "98", "1.5"), ("trade", "98", "0.5"), ("trade", "98", "0.25")),
         (("b", "1"), ("a", "1"))),
    Case("volume counted for one order is not counted again for another", PESSIMISTIC,
         (("a", "99", "1.000"), ("b", "100", "1.000")),
         (("trade", "98", "0.75"), ("trade", "98", "0.5"), ("trade", "98", "0.5")),
         (("b", "1"),)),
    # QUEUE: through X fills; at X the queue ahead is eaten first, then partial fills.
    Case("ticker through X never fills", QUEUE, one(), (("ticker", "90"),), (), 2.0),
    Case("tiny trade through X fills all, whatever the queue", QUEUE, one(),
         (("trade", "99", "0.1"),), (("a", "1"),), 2.0),
    Case("trade at X only eats the queue ahead", QUEUE, one(), (("trade", "100", "1.5"),), (),
         2.0),
    Case("trade short of X leaves the queue alone", QUEUE, one(),
         (("trade", "100.1", "5"), ("trade", "100", "1.5")), (), 2.0),
    Case("queue eaten first, then a partial fill, then the rest", QUEUE, one(),
         (("trade", "100", "1.5"), ("trade", "100", "0.8"), ("trade", "100", "1")),
         (("a", "0.3"), ("a", "0.7")), 2.0),
    Case("a tiny trade through two orders fills the best-priced one only", QUEUE,
         (("a", "99", "1.000"), ("b", "100", "1.000")), (("trade", "98", "0.5"),),
         (("b", "1"),), 2.0),
    Case("a large trade through two orders fills both", QUEUE,
         (("a", "99", "1.000"), ("b", "100", "1.000")), (("trade", "98", "5"),),
         (("b", "1"), ("a", "1"))),
    Case("two orders at one price share a trade in time priority", QUEUE,
         (("a", "100", "1.000"), ("b", "100", "1.000")), (("trade", "100", "1.5"),),
         (("a", "1"), ("b", "0.5"))),
]


def _mirror(price: str) -> str:
    """The SELL twin of a BUY case's price: reflected around 100."""
    return str(Decimal(200) - Decimal(price))


def _place(side: str, link: str, price: str, qty: str) -> PlaceLimitIntent:
    """An opening order (a BUY opens the long side, a SELL the short side)."""
    return PlaceLimitIntent(symbol=SYMBOL, side=side, price=Decimal(price), qty=Decimal(qty),
                            reduce_only=False, position_idx=1 if side == BUY else 2,
                            client_order_id=link, grid_level=0,
                            direction=LONG if side == BUY else SHORT)


def _event(item: Print, ts: int, mirrored: bool) -> PublicTradeEvent | TickerEvent:
    kind, price, *size = item
    price = _mirror(price) if mirrored else price
    if kind == "ticker":
        return TickerEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, last_price=Decimal(price))
    return PublicTradeEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, trade_id=f"t{ts}",
                            side=SELL, price=Decimal(price), size=Decimal(size[0]))


def _run(case: Case, side: str) -> list[tuple[str, Decimal]]:
    mirrored = side == SELL
    broker = SimBroker(SYMBOL, make_fill_model(case.model, queue_ahead=case.queue_ahead))
    for n, (link, price, qty) in enumerate(case.orders):
        broker.submit([_place(side, link, _mirror(price) if mirrored else price, qty)], T0 + n)
    for n, item in enumerate(case.prints):
        broker.on_market(_event(item, PRINTS_AT + n, mirrored))
    return [(fill.order_link_id, fill.qty) for fill in broker.fills]


@pytest.mark.parametrize("side", [BUY, SELL])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.model}: {c.rule}")
def test_fill_rule(case: Case, side: str) -> None:
    assert _run(case, side) == [(link, Decimal(qty)) for link, qty in case.fills]


# ---------------------------------------------------------------- latency (docs/validation.md)

LATENCY = 100


def _resting(model: str) -> SimBroker:
    """A broker with 100 ms latency holding BUY 1 @ 100, placed at T0 (it rests at T0+100)."""
    broker = SimBroker(SYMBOL, make_fill_model(model), latency_ms=LATENCY)
    broker.submit([_place(BUY, "a", "100", "1")], T0)
    return broker


def _at(broker: SimBroker, price: str, size: str, ts: int) -> list[object]:
    """As the replay loop does: land the requests due by ``ts``, then the trade."""
    trade = _event(("trade", price, size), ts, mirrored=False)
    return broker.advance(ts) + broker.on_market(trade)


def _cancel() -> CancelIntent:
    return CancelIntent(symbol=SYMBOL, order_id=None, client_order_id="a", reason="test")


@pytest.mark.parametrize("model", [CONSERVATIVE, PESSIMISTIC, QUEUE])
def test_fill_order_cannot_fill_before_its_placement_lands(model: str) -> None:
    """It can fill only after t0 plus the latency; volume before that does not count."""
    broker = _resting(model)
    _at(broker, "99", "5", T0 + LATENCY - 1)
    assert broker.fills == []
    _at(broker, "99", "1.5", T0 + LATENCY)
    assert [(f.order_link_id, f.qty) for f in broker.fills] == [("a", Decimal(1))]


@pytest.mark.parametrize("model", [CONSERVATIVE, PESSIMISTIC, QUEUE])
def test_fill_order_still_fills_until_its_cancel_lands(model: str) -> None:
    """A cancel sent at T0+200 lands at T0+300: a trade through at T0+250 fills the order,
    and the cancel then finds nothing to cancel."""
    broker = _resting(model)
    broker.submit([_cancel()], T0 + 200)
    _at(broker, "99", "1.5", T0 + 250)
    assert [(f.order_link_id, f.qty) for f in broker.fills] == [("a", Decimal(1))]
    answered = broker.advance(T0 + 300)  # the fill's held updates, then the cancel's none
    assert [(a.order_link_id, a.order_status) for a in answered
            if isinstance(a, OrderUpdateEvent)] == [("a", "Filled")]


@pytest.mark.parametrize("model", [CONSERVATIVE, PESSIMISTIC, QUEUE])
def test_fill_order_cancelled_once_the_cancel_lands(model: str) -> None:
    broker = _resting(model)
    broker.submit([_cancel()], T0 + 200)
    [cancelled] = broker.advance(T0 + 300)
    assert cancelled.order_status == "Cancelled"  # type: ignore[attr-defined]
    _at(broker, "99", "1.5", T0 + 350)
    assert broker.fills == []
