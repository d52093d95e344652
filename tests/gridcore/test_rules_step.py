"""Rules 3.1 to 3.4.3 (one strategy step) and rule 4 (fills), through GridEngine.on_event."""

from __future__ import annotations

import pytest

from gridcore.events import BUY, SELL
from gridcore.grid import WAIT
from gridcore.intents import LONG, SHORT
from tests.gridcore.conftest import (
    T0,
    ack_all,
    cancels,
    expected_build,
    feed,
    fill,
    levels,
    make_engine,
    order_event,
    placed,
    places,
    position,
    raw_fill,
    started,
    ticker,
)
from tests.gridcore.conftest import legacy_round as rnd

GRID_100 = expected_build(100.0, 6, 1.0, 0.1)  # 97..99 BUY, 100 WAIT, 101..103 SELL


def _intent_at(intents, direction: str, price: float):
    return next(i for i in places(intents) if i.direction == direction and float(i.price) == price)


# ---------------------------------------------------------------- 3.1 latch


@pytest.mark.parametrize("fast_path", [True, False])
def test_step_latch_set_does_nothing(fast_path: bool) -> None:
    """Rule 3.1: with the same-order latch set a step emits nothing and keeps the grid."""
    engine, _ = started(fast_path=fast_path)
    feed(engine, raw_fill(side=BUY, price=99, order_id="a"), raw_fill(side=BUY, price=99,
                                                                      order_id="b"))
    assert engine.latch.is_set
    assert engine.on_event(ticker("120.0", ts=T0 + 1)) == []  # far outside the grid
    assert levels(engine) == GRID_100


@pytest.mark.parametrize("price", ["0", "-1"])
def test_step_ticker_without_positive_price_is_ignored(price: str) -> None:
    """Rule 2 build (P known and > 0) / deviation D11: a zero price never builds a grid."""
    engine = make_engine()
    assert engine.on_event(ticker(price)) == []
    assert engine.grid.levels == []


# ---------------------------------------------------------------- 3.3 position check timing


def _liq_positions(long_liq: float, ts: int) -> list[object]:
    return [position(1, 1, 100, liq=long_liq, ts=ts), position(2, 1, 100, ts=ts)]


@pytest.mark.parametrize("fast_path", [True, False])
def test_step_first_step_runs_position_check(fast_path: bool) -> None:
    """Rule 3.3: the first step runs the check (long liq 90 / 100 > 0.84 -> long SELL 1.5)."""
    engine = make_engine(fast_path=fast_path)
    feed(engine, *_liq_positions(90, T0), ticker("100.0"))
    assert engine.multipliers[(LONG, SELL)] == 1.5


@pytest.mark.parametrize("fast_path", [True, False])
def test_step_position_check_waits_63_seconds_of_event_time(fast_path: bool) -> None:
    """Rule 3.3: the check runs again only when >= 63 s of event time have passed."""
    engine = make_engine(fast_path=fast_path)
    feed(engine, *_liq_positions(90, T0), ticker("100.0"))
    feed(engine, *_liq_positions(0, T0 + 1), ticker("100.0", ts=T0 + 62_999))
    assert engine.multipliers[(LONG, SELL)] == 1.5  # not due yet: old multipliers stay
    feed(engine, ticker("100.0", ts=T0 + 63_000))
    assert engine.multipliers[(LONG, SELL)] == 1.0


# ---------------------------------------------------------------- 3.4.1 direction orders


@pytest.mark.parametrize(("side", "price", "reduce_only", "held", "other"), [
    (SELL, 101.0, True, (LONG, SELL, 101.0, True), (SHORT, SELL, 101.0, False)),
    (BUY, 99.0, True, (SHORT, BUY, 99.0, True), (LONG, BUY, 99.0, False)),
    (BUY, 99.0, False, (LONG, BUY, 99.0, False), (SHORT, BUY, 99.0, True)),
    (SELL, 101.0, False, (SHORT, SELL, 101.0, False), (LONG, SELL, 101.0, True)),
])
def test_step_open_order_counts_for_its_direction_only(side, price, reduce_only, held,
                                                       other) -> None:
    """Rule 3.4.1: long = opening BUY + reduce-only SELL; short = opening SELL + reduce-only BUY.

    An open order at a level holds that level for its own direction only: the other
    direction still places its order there.
    """
    engine = make_engine()
    feed(engine, position(1, 10, 100), position(2, 10, 100),
         order_event(side=side, price=price, qty="0.1", reduce_only=reduce_only))
    intents = engine.on_event(ticker("100.0"))
    assert held not in placed(intents)
    assert other in placed(intents)


# ---------------------------------------------------------------- 3.4.2 too many orders


def _rejected_start(price: str = "100.0"):
    """First step at ``price``, every placement rejected: a grid and no open orders."""
    engine = make_engine()
    ack_all(engine, engine.on_event(ticker(price)), status="Rejected")
    return engine


def _external_buys(count: int) -> list[object]:
    """``count`` opening BUY orders (direction long) spread over the BUY levels 97-99."""
    return [order_event(side=BUY, price=(97, 98, 99)[k % 3], qty="0.1", order_id=f"b{k}")
            for k in range(count)]


def test_step_orders_beyond_levels_plus_ten_cancels_all_and_rebuilds() -> None:
    """Rule 3.4.2: 18 long orders > 7 levels + 10: cancel all (both directions), rebuild at C."""
    engine = _rejected_start()
    feed(engine, *_external_buys(18), order_event(side=SELL, price=101, qty="0.1", order_id="s1"))
    intents = engine.on_event(ticker("100.5", ts=T0 + 1))
    cancelled = sorted(c.order_id for c in cancels(intents))
    assert cancelled == sorted([f"b{k}" for k in range(18)] + ["s1"])  # each exactly once
    assert [p for p, _ in levels(engine)] == [p for p, _ in expected_build(100.5, 6, 1.0, 0.1)]
    assert engine.grid.builds == 2


def test_step_orders_equal_levels_plus_ten_does_not_cancel() -> None:
    """Rule 3.4.2: exactly levels + 10 (17) open orders is not too many."""
    engine = _rejected_start()
    feed(engine, *_external_buys(17))
    intents = engine.on_event(ticker("100.0", ts=T0 + 1))
    assert cancels(intents) == []
    assert engine.grid.builds == 1


def test_step_cancel_all_keeps_orders_until_exchange_confirms() -> None:
    """Rule 3.4.2: cancelled orders count as held until the exchange confirms the cancel."""
    engine = _rejected_start()
    feed(engine, *_external_buys(18))
    first = engine.on_event(ticker("100.0", ts=T0 + 1))
    assert len(cancels(first)) == 18
    assert (LONG, BUY, 99.0, False) not in placed(first)  # still held (cancel pending)
    second = engine.on_event(ticker("100.0", ts=T0 + 2))
    assert not {c.order_id for c in cancels(second)} & {f"b{k}" for k in range(18)}
    feed(engine, *[order_event(side=BUY, price=(97, 98, 99)[k % 3], qty="0.1", order_id=f"b{k}",
                               status="Cancelled") for k in range(18)])
    third = engine.on_event(ticker("100.0", ts=T0 + 3))
    assert {(d, s, p) for d, s, p, _ in placed(third) if d == LONG} == {
        (LONG, BUY, 99.0), (LONG, BUY, 98.0), (LONG, BUY, 97.0)}


# ---------------------------------------------------------------- 3.4.3 update when 0 < count < n


def _fill_short_sell_102(direction_with_orders: str | None):
    """Start at 100, fill the short SELL at 102 (F = 102); keep orders only where told."""
    engine, intents = started()
    feed(engine, fill(_intent_at(intents, SHORT, 102.0)))
    for intent in places(intents):
        keep = direction_with_orders in ("both", intent.direction)
        if float(intent.price) != 102.0 and not keep:
            feed(engine, order_event(side=intent.side, price=intent.price, qty=intent.qty,
                                     status="Cancelled", order_id=f"ex-{intent.client_order_id}",
                                     link_id=intent.client_order_id))
    return engine


def test_step_update_runs_once_per_direction_so_grid_recentres_twice() -> None:
    """Rule 3.4.3: long (3 orders) and short (2 orders) both update: two re-centres.

    F = 102, C = 102.5: 97..101 BUY, 102 WAIT, 103 SELL -> up one level (SELL 104),
    then 4 BUY v 2 SELL is still > 0.3 -> up again (SELL 105).
    """
    engine = _fill_short_sell_102(direction_with_orders="both")
    engine.on_event(ticker("102.5", ts=T0 + 1))
    assert levels(engine) == [
        (99.0, BUY), (100.0, BUY), (101.0, BUY), (102.0, WAIT), (103.0, SELL),
        (rnd(103.0 * 1.01), SELL), (rnd(rnd(103.0 * 1.01) * 1.01), SELL),
    ]


def test_step_update_runs_only_for_direction_with_orders() -> None:
    """Rule 3.4.3: only long has orders (3): one update, one re-centre."""
    engine = _fill_short_sell_102(direction_with_orders=LONG)
    engine.on_event(ticker("102.5", ts=T0 + 1))
    assert levels(engine) == [
        (98.0, BUY), (99.0, BUY), (100.0, BUY), (101.0, BUY), (102.0, WAIT), (103.0, SELL),
        (rnd(103.0 * 1.01), SELL),
    ]


def test_step_no_open_orders_does_not_update_grid() -> None:
    """Rule 3.4.3: count 0 -> no update (the grid keeps its built sides)."""
    engine = _fill_short_sell_102(direction_with_orders=None)
    engine.on_event(ticker("102.5", ts=T0 + 1))
    assert levels(engine) == GRID_100


@pytest.mark.parametrize(("count", "updated"), [(5, True), (6, False)])
def test_step_update_needs_count_below_grid_count(count: int, updated: bool) -> None:
    """Rule 3.4.3: 0 < count < n updates; count = n (6) does not."""
    engine = _rejected_start()
    feed(engine, *_external_buys(count), raw_fill(side=SELL, price=102, order_id="f"))
    engine.on_event(ticker("102.5", ts=T0 + 1))
    assert (levels(engine) != GRID_100) is updated


# ---------------------------------------------------------------- 4 fills


def test_fill_full_trade_sets_last_filled_price_and_leaves_grid() -> None:
    """Rule 4: a full fill (leaves 0, Trade) sets last_filled_price; the grid is untouched."""
    engine, intents = started()
    version = engine.grid.version
    assert engine.on_event(fill(_intent_at(intents, LONG, 99.0))) == []
    assert engine.last_filled_price == 99.0
    assert levels(engine) == GRID_100
    assert engine.grid.version == version


def test_fill_partial_does_not_set_last_filled_price() -> None:
    """Rule 4: a fill that leaves quantity is not a full fill."""
    engine, intents = started()
    engine.on_event(fill(_intent_at(intents, LONG, 99.0), leaves_qty="0.05"))
    assert engine.last_filled_price is None


def test_fill_funding_execution_does_not_set_last_filled_price() -> None:
    """Rule 4: only exec type Trade counts."""
    engine, intents = started()
    engine.on_event(fill(_intent_at(intents, LONG, 99.0), exec_type="Funding"))
    assert engine.last_filled_price is None


def test_fill_next_step_updates_grid_around_fill() -> None:
    """Rule 4 with 3.4.3: the step after the fill updates the grid (99 becomes WAIT)."""
    engine, intents = started()
    engine.on_event(fill(_intent_at(intents, LONG, 99.0)))
    engine.on_event(ticker("99.5", ts=T0 + 1))
    # 97, 98 BUY, 99 WAIT, 100..103 SELL: (4 - 2) / 6 > 0.3 -> one BUY added below 97
    assert levels(engine) == [
        (rnd(97.0 * 0.99), BUY), (97.0, BUY), (98.0, BUY), (99.0, WAIT),
        (100.0, SELL), (101.0, SELL), (102.0, SELL),
    ]
