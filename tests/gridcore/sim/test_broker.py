"""SimBroker with the OPTIMISTIC fill model: placement, fills, latency, cancels, funding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcore.events import (
    BUY,
    SELL,
    ExecutionEvent,
    FundingEvent,
    OrderUpdateEvent,
    PositionEvent,
    PublicTradeEvent,
    WalletEvent,
)
from gridcore.grid import WAIT
from gridcore.intents import LONG, SHORT, CancelIntent, PlaceLimitIntent
from gridcore.sim.broker import SimBroker
from gridcore.sim.fills import OptimisticFill
from gridcore.sim.models import make_fill_model
from gridcore.sim.orders import SimOrder
from gridcore.sim.replay import replay
from tests.gridcore.conftest import SYMBOL, T0, levels, make_engine, ticker

D = Decimal
START = D(10_000)


def broker(latency_ms: int = 0) -> SimBroker:
    return SimBroker(SYMBOL, OptimisticFill(), starting_balance=START, latency_ms=latency_ms)


def intent(side: str, price: str, qty: str = "1", *, reduce_only: bool = False,
           link: str = "c1") -> PlaceLimitIntent:
    opening_long = (side == BUY) != reduce_only
    return PlaceLimitIntent(symbol=SYMBOL, side=side, price=D(price), qty=D(qty),
                            reduce_only=reduce_only, position_idx=1 if opening_long else 2,
                            client_order_id=link, grid_level=0,
                            direction=LONG if opening_long else SHORT)


def trade(price: str, size: str = "1", ts: int = T0) -> PublicTradeEvent:
    return PublicTradeEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, trade_id="t",
                            side=BUY, price=D(price), size=D(size))


def of_type(answers, kind):
    return [a for a in answers if isinstance(a, kind)]


def filled_long(size: str = "1", price: str = "100") -> SimBroker:
    """A broker holding a long position of ``size`` opened at ``price``."""
    sim = broker()
    sim.submit([intent(BUY, price, size, link="open")], T0)
    sim.on_market(ticker(price))
    return sim


# ---------------------------------------------------------------- placement


def test_broker_place_answers_new_order_with_exchange_id() -> None:
    [answer] = broker().submit([intent(BUY, "99")], T0)
    assert isinstance(answer, OrderUpdateEvent)
    assert (answer.order_status, answer.order_link_id, answer.price) == ("New", "c1", D(99))
    assert answer.order_id


def test_broker_duplicate_open_order_link_id_is_rejected() -> None:
    """bybit-v5.md: orderLinkId is unique among open orders; a duplicate is rejected."""
    sim = broker()
    sim.submit([intent(BUY, "99")], T0)
    [answer] = sim.submit([intent(BUY, "98")], T0)
    assert (answer.order_status, answer.reject_reason) == ("Rejected", "EC_DuplicateLinkId")
    assert len(sim.orders) == 1


# ---------------------------------------------------------------- optimistic fills


@pytest.mark.parametrize(("side", "price", "last", "fills"), [
    (BUY, "99", "99", True), (BUY, "99", "98", True), (BUY, "99", "99.1", False),
    (SELL, "101", "101", True), (SELL, "101", "102", True), (SELL, "101", "100.9", False),
])
def test_broker_optimistic_fill_at_or_through_price(side, price, last, fills) -> None:
    """docs/validation.md OPTIMISTIC: a BUY fills when the last price is at or below it (SELL
    mirrored), for all of its quantity, at the order's own price."""
    sim = broker()
    sim.submit([intent(side, price, "2")], T0)
    executions = of_type(sim.on_market(ticker(last, ts=T0 + 1)), ExecutionEvent)
    if not fills:
        assert executions == []
        return
    [execution] = executions
    assert (execution.exec_price, execution.exec_qty, execution.leaves_qty) == (D(price), D(2),
                                                                                D(0))


def test_broker_public_trade_through_price_fills() -> None:
    sim = broker()
    sim.submit([intent(BUY, "99")], T0)
    assert len(of_type(sim.on_market(trade("98.5", ts=T0 + 1)), ExecutionEvent)) == 1


@pytest.mark.parametrize(("latency_ms", "fill_ts"), [(0, T0 + 50), (100, T0 + 100)])
def test_broker_latency_delays_fill_until_active(latency_ms: int, fill_ts: int) -> None:
    """latency_ms: an order placed at T0 can fill only from T0 + latency (replay loop)."""
    sim = broker(latency_ms=latency_ms)
    events = [ticker("100.0"), ticker("98.9", ts=T0 + 50), ticker("98.9", ts=T0 + 100)]
    replay(events, make_engine(), sim)
    assert [(f.ts, f.price) for f in sim.fills] == [(fill_ts, D("99.0"))]


def test_broker_fill_emits_execution_order_position_wallet() -> None:
    """A fill answers as the private streams would: execution, order, position, wallet."""
    sim = broker()
    sim.submit([intent(BUY, "100", "2")], T0)
    answers = sim.on_market(ticker("100", ts=T0 + 1))
    assert [type(a) for a in answers] == [ExecutionEvent, OrderUpdateEvent, PositionEvent,
                                          WalletEvent]
    execution, order, pos, wallet = answers
    assert (execution.exec_fee, execution.closed_size, execution.is_full_fill) == (
        D("0.04"), D(0), True)  # 100 × 2 × 0.02 %
    assert (order.order_status, order.cum_exec_qty) == ("Filled", D(2))
    assert (pos.position_idx, pos.size, pos.entry_price, pos.position_value) == (1, D(2), D(100),
                                                                                D(200))
    assert wallet.sizing_balance == START - D("0.04")


@pytest.mark.parametrize("prints", [("103",), ("101.5", "103")], ids=["one", "two"])
def test_broker_fills_of_one_millisecond_answer_as_one_message_per_topic(prints) -> None:
    """Prints of one millisecond through two sells (one print, or one each) answer as the
    venue's streams do: both executions, then, once the millisecond is over, both order
    updates, one position and one wallet. Interleaved, an order update between the two
    executions would cut the engine's same-order batch in two."""
    sim = filled_long("2", "100")
    sim.submit([intent(SELL, "101", reduce_only=True, link="a"),
                intent(SELL, "102", reduce_only=True, link="b")], T0 + 1)
    answers = [a for price in prints for a in sim.on_market(trade(price, ts=T0 + 2))]
    assert [type(a) for a in answers] == [ExecutionEvent, ExecutionEvent]
    assert sim.holding == T0 + 2
    answers += sim.on_market(ticker("103", ts=T0 + 3))
    assert [type(a) for a in answers] == [ExecutionEvent, ExecutionEvent, OrderUpdateEvent,
                                          OrderUpdateEvent, PositionEvent, WalletEvent]
    assert [a.order_link_id for a in answers[:4]] == ["a", "b", "a", "b"]
    assert [a.seq for a in answers] == sorted(a.seq for a in answers)
    assert sim.holding is None and sim.release() == []


@pytest.mark.parametrize("prints", [("103",), ("101.5", "103")], ids=["one", "two"])
def test_engine_fills_of_one_millisecond_last_filled_price_is_the_first_sorted(
        prints) -> None:
    """Replayed, the engine reads the fills of one millisecond as the live engine reads
    the venue's one execution message: one batch, whose first fill is the last filled
    price (separate batches would make it the second)."""
    engine = make_engine()
    sim = filled_long("2", "100")
    sim.submit([intent(SELL, "101", reduce_only=True, link="a"),
                intent(SELL, "102", reduce_only=True, link="b")], T0 + 1)
    for price in prints:
        for answer in sim.on_market(trade(price, ts=T0 + 2)):
            engine.on_event(answer)
    for answer in sim.release():
        engine.on_event(answer)
    assert engine.last_filled_price == 101.0


def test_broker_closing_fill_adds_realised_pnl_less_fees_to_balance() -> None:
    """Open 1 @ 100, close 1 @ 110: balance = start + 10 - fees (0.02 + 0.022)."""
    sim = filled_long("1", "100")
    sim.submit([intent(SELL, "110", "1", reduce_only=True, link="close")], T0 + 1)
    [execution] = of_type(sim.on_market(ticker("110", ts=T0 + 2)), ExecutionEvent)
    assert execution.closed_size == D(1)
    assert sim.balance == START + D(10) - D("0.02") - D("0.022")
    assert sim.positions[1].size == D(0)


# ---------------------------------------------------------------- cancel


def test_broker_cancel_removes_order_and_it_never_fills() -> None:
    sim = broker()
    [new] = sim.submit([intent(BUY, "99")], T0)
    cancel = CancelIntent(symbol=SYMBOL, order_id=new.order_id, client_order_id=None, reason="t")
    [answer] = sim.submit([cancel], T0 + 1)
    assert answer.order_status == "Cancelled"
    assert sim.on_market(ticker("90", ts=T0 + 2)) == []


def test_broker_cancel_by_client_id_works() -> None:
    sim = broker()
    sim.submit([intent(BUY, "99", link="abc")], T0)
    cancel = CancelIntent(symbol=SYMBOL, order_id=None, client_order_id="abc", reason="t")
    assert [a.order_status for a in sim.submit([cancel], T0 + 1)] == ["Cancelled"]


def test_broker_cancel_unknown_order_answers_nothing() -> None:
    cancel = CancelIntent(symbol=SYMBOL, order_id="nope", client_order_id="nope", reason="t")
    assert broker().submit([cancel], T0) == []


def test_broker_link_id_free_again_after_cancel() -> None:
    """bybit-v5.md: uniqueness is among open orders only."""
    sim = broker()
    [new] = sim.submit([intent(BUY, "99")], T0)
    sim.submit([CancelIntent(symbol=SYMBOL, order_id=new.order_id, client_order_id=None,
                             reason="t")], T0)
    assert [a.order_status for a in sim.submit([intent(BUY, "99")], T0)] == ["New"]


# ---------------------------------------------------------------- reduce-only


def test_broker_reduce_only_fill_is_trimmed_to_position() -> None:
    """A reduce-only SELL of 3 against a long of 1 fills 1 and is done."""
    sim = filled_long("1", "100")
    sim.submit([intent(SELL, "101", "3", reduce_only=True, link="close")], T0 + 1)
    answers = sim.on_market(ticker("101", ts=T0 + 2))
    [execution] = of_type(answers, ExecutionEvent)
    [order] = of_type(answers, OrderUpdateEvent)
    assert (execution.exec_qty, execution.leaves_qty, order.order_status) == (D(1), D(0),
                                                                              "Filled")
    assert sim.positions[1].size == D(0) and sim.orders == {}


def test_broker_reduce_only_for_a_flat_side_is_refused_at_once() -> None:
    """As Bybit answers it (110017): the legacy guard can decide such orders (rule 3.5)."""
    sim = broker()
    answers = sim.submit([intent(SELL, "101", "1", reduce_only=True)], T0)
    assert [(type(a), a.order_status, a.reject_reason[:6]) for a in answers] == [
        (OrderUpdateEvent, "Rejected", "110017")]
    assert sim.orders == {} and sim.in_flight() == []
    assert sim.on_market(ticker("101", ts=T0 + 1)) == [] and sim.fills == []


def test_broker_reduce_only_whose_position_closed_while_resting_is_cancelled() -> None:
    sim = broker()
    sim.submit([intent(BUY, "100", "1")], T0)
    sim.on_market(ticker("100", ts=T0 + 1))  # long of 1
    sim.submit([intent(SELL, "101", "1", reduce_only=True, link="c2"),
                intent(SELL, "102", "1", reduce_only=True, link="c3")], T0 + 2)
    answers = sim.on_market(ticker("102", ts=T0 + 3))
    statuses = [(a.order_status, str(a.price)) for a in answers
                if isinstance(a, OrderUpdateEvent)]
    assert ("Filled", "101") in statuses and ("Cancelled", "102") in statuses
    assert len(sim.fills) == 2 and sim.positions[1].size == 0


# ---------------------------------------------------------------- funding


@pytest.mark.parametrize(("side", "rate", "change"), [
    (BUY, "0.0001", "-0.01"), (SELL, "0.0001", "0.01"), (BUY, "-0.0001", "0.01"),
])
def test_broker_funding_changes_balance_by_mark_size_rate(side, rate, change) -> None:
    """docs/validation.md: mark × size × rate at funding time; longs pay a positive rate."""
    sim = broker()
    sim.submit([intent(side, "100", "1")], T0)
    sim.on_market(ticker("100", ts=T0 + 1))
    before = sim.balance
    funding = FundingEvent(symbol=SYMBOL, exchange_ts=T0 + 2, local_ts=T0 + 2,
                           funding_rate=D(rate), mark_price=D(100))
    [wallet] = sim.on_market(funding)
    assert sim.balance - before == D(change)
    assert wallet.sizing_balance == sim.balance


@pytest.mark.parametrize(("mark", "change"), [("110", "-0.11"), (None, "-0.1")])
def test_broker_funding_uses_the_captured_mark_else_the_last_price(mark, change) -> None:
    """The funding row's own mark price (110) prices the payment, not the last trade (100);
    a row without one falls back to the last price."""
    sim = broker()
    sim.submit([intent(BUY, "100", "1")], T0)
    sim.on_market(ticker("100", ts=T0 + 1))
    before = sim.balance
    sim.on_market(FundingEvent(symbol=SYMBOL, exchange_ts=T0 + 2, local_ts=T0 + 2,
                               funding_rate=D("0.001"),
                               mark_price=None if mark is None else D(mark)))
    assert sim.balance - before == D(change)


def test_broker_initial_events_show_empty_positions_and_wallet() -> None:
    answers = broker().initial_events(T0)
    assert [type(a) for a in answers] == [PositionEvent, PositionEvent, WalletEvent]
    assert [a.size for a in answers[:2]] == [D(0), D(0)]
    assert answers[2].sizing_balance == START


def test_broker_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        SimBroker(SYMBOL, OptimisticFill(), latency_ms=-1)


def test_fill_model_unknown_name_is_refused() -> None:
    assert isinstance(make_fill_model("optimistic"), OptimisticFill)
    with pytest.raises(ValueError, match="QUEUEX"):
        make_fill_model("QUEUEX")


def test_broker_answers_drive_engine_to_last_filled_price() -> None:
    """Engine and broker together: acks hold the orders; a fill sets last_filled_price."""
    engine, sim = make_engine(), broker()
    for answer in sim.submit(engine.on_event(ticker("100.0")), T0):
        engine.on_event(answer)
    for answer in sim.on_market(ticker("98.9", ts=T0 + 1)):
        engine.on_event(answer)
    assert engine.last_filled_price == 99.0
    assert len(engine.orders.orders) == 5  # the filled order is no longer held
    engine.on_event(ticker("100.0", ts=T0 + 2))
    assert (99.0, WAIT) in levels(engine)  # the next step updates the grid around the fill


def _resting(order_id: str, link: str, price: str = "90") -> SimOrder:
    return SimOrder(order_id=order_id, order_link_id=link, side=BUY, price=D(price),
                    price_f=float(price), qty=D("1"), leaves_qty=D("1"), reduce_only=False,
                    position_idx=1, placed_ts=T0, active_ts=T0)


def test_broker_seeded_order_ids_are_never_reused_by_new_orders() -> None:
    """Seeded live orders keep their ids; the broker's own ids are apart from the resumed
    run's numbering (simr-N, not sim-N) and skip any seeded id."""
    sim = broker()
    seeded = [_resting("sim-1", "live-1"), _resting("simr-1", "live-2", "89")]
    sim.seed_account(balance=START, positions={}, orders=seeded)
    sim.submit([intent(BUY, "95")], T0 + 1)
    assert set(sim.orders) == {"sim-1", "simr-1", "simr-2"}
    assert sim.orders["sim-1"] is seeded[0]


def test_broker_in_flight_requests_survive_a_seed_and_land_on_time() -> None:
    """A placement and a cancel sent before a snapshot land latency after they were sent in
    the seeded broker too, in the order sent; nothing lands earlier."""
    live = broker(latency_ms=100)
    live.submit([intent(BUY, "95", link="rest")], T0)
    live.advance(T0 + 100)
    cancel = CancelIntent(symbol=SYMBOL, order_id=None, client_order_id="rest", reason="r")
    place = intent(BUY, "94", link="new")
    live.submit([place, cancel], T0 + 150)
    assert live.in_flight() == [(T0 + 150, place), (T0 + 150, cancel)]

    resumed = broker(latency_ms=100)
    resumed.seed_account(balance=START, positions={}, orders=list(live.orders.values()),
                         in_flight=live.in_flight())
    assert resumed.advance(T0 + 249) == []
    placed, cancelled = resumed.advance(T0 + 250)
    assert (placed.order_link_id, placed.order_status) == ("new", "New")
    assert (cancelled.order_link_id, cancelled.order_status) == ("rest", "Cancelled")
    assert [o.order_link_id for o in resumed.orders.values()] == ["new"]
    assert resumed.in_flight() == []
