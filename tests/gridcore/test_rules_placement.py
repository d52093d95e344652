"""Rule 3.4.4 (place grid orders) and 'place one order', with the section 8 deviations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcore import order_ids
from gridcore.events import BUY, SELL
from gridcore.grid import WAIT
from gridcore.intents import LONG, SHORT
from tests.gridcore.conftest import (
    T0,
    ack,
    ack_all,
    cancels,
    feed,
    make_engine,
    order_event,
    placed,
    places,
    position,
    started,
    ticker,
)

B, S, W = BUY, SELL, WAIT


def engine_with_grid(grid: list[list[object]], *, long_size: float = 0,
                     short_size: float = 0, **config):
    """An engine holding ``grid`` (as [price, side] rows) and the given position sizes."""
    engine = make_engine(**config)
    engine.grid.load_state(grid, builds=1)
    feed(engine, position(1, long_size, 100 if long_size else 0),
         position(2, short_size, 100 if short_size else 0))
    return engine


def order_of(intents, direction: str) -> list[tuple[str, float]]:
    return [(side, price) for d, side, price, _ in placed(intents) if d == direction]


# ---------------------------------------------------------------- 3.4.4 centre and order


def test_place_no_orders_places_every_eligible_level_nearest_centre_first() -> None:
    """Rule 3.4.4 (no open orders in a direction): place all, by |index - centre| then price."""
    engine = make_engine()
    feed(engine, position(1, 1, 100), position(2, 1, 100))
    intents = engine.on_event(ticker("100.0"))
    assert order_of(intents, LONG) == [(B, 99.0), (S, 101.0), (B, 98.0), (S, 102.0),
                                       (B, 97.0), (S, 103.0)]
    assert order_of(intents, SHORT) == order_of(intents, LONG)
    assert [i.direction for i in places(intents)] == [LONG] * 6 + [SHORT] * 6
    assert [i.grid_level for i in places(intents)][:6] == [2, 4, 1, 5, 0, 6]


def test_place_centre_is_middle_of_wait_region() -> None:
    """Rule 3.4.4 step 2: WAIT at indexes 2 and 3 -> centre (2 + 3) // 2 = 2."""
    engine = engine_with_grid([[96.0, B], [97.0, B], [98.0, W], [99.0, W], [100.0, S],
                               [101.0, S], [102.0, S], [103.0, S]], long_size=10)
    intents = engine.on_event(ticker("98.5"))
    assert order_of(intents, LONG) == [(B, 97.0), (B, 96.0), (S, 100.0), (S, 101.0),
                                       (S, 102.0), (S, 103.0)]


def test_place_centre_without_wait_is_half_the_length() -> None:
    """Rule 3.4.4 step 2: no WAIT level -> centre len(grid) // 2 = 3 (the SELL at 101)."""
    engine = engine_with_grid([[97.0, B], [98.0, B], [99.0, B], [101.0, S], [102.0, S],
                               [103.0, S]], long_size=10)
    intents = engine.on_event(ticker("100.0"))
    assert order_of(intents, LONG) == [(S, 101.0), (B, 99.0), (S, 102.0), (B, 98.0),
                                       (S, 103.0), (B, 97.0)]


# ---------------------------------------------------------------- 3.4.4 the four cases


def test_place_open_order_same_side_at_level_is_kept() -> None:
    """Rule 3.4.4 step 3 (same side at the price): keep it; nothing placed or cancelled."""
    engine, _ = started()
    assert engine.on_event(ticker("100.0", ts=T0 + 1)) == []


def test_place_open_order_other_side_at_level_is_cancelled_and_replaced() -> None:
    """Rule 3.4.4 step 3 (other side at the price): cancel it and place the level's order."""
    engine = make_engine()
    feed(engine, position(1, 10, 100),
         order_event(side=BUY, price=101, qty="0.1", order_id="wrong-side"))
    intents = engine.on_event(ticker("100.0"))
    assert [(c.order_id, c.reason) for c in cancels(intents)] == [
        ("wrong-side", "level changed side")]
    assert (LONG, SELL, 101.0, True) in placed(intents)


def test_place_no_open_order_at_level_places_one() -> None:
    """Rule 3.4.4 step 3 (no order at this price): place one, even with other orders held."""
    engine, intents = started()
    rejected = next(i for i in places(intents) if float(i.price) == 98.0)
    engine.on_event(ack(rejected, status="Rejected"))
    again = engine.on_event(ticker("100.0", ts=T0 + 1))
    assert placed(again) == [(LONG, BUY, 98.0, False)]
    assert again[0].client_order_id != rejected.client_order_id


def test_place_rejected_order_update_frees_the_level() -> None:
    """Section 8 (Rejected frees the level): a rejected placement is no longer held."""
    engine = make_engine()
    first = engine.on_event(ticker("100.0"))
    ack_all(engine, first, status="Rejected")
    again = engine.on_event(ticker("100.0", ts=T0 + 1))
    assert placed(again) == placed(first)


def test_place_order_off_grid_price_is_cancelled() -> None:
    """Rule 3.4.4 step 4: an open order whose price is not a level price is cancelled."""
    engine, _ = started()
    engine.on_event(order_event(side=BUY, price="95.55", qty="0.1", order_id="off"))
    intents = engine.on_event(ticker("100.0", ts=T0 + 1))
    assert [(c.order_id, c.reason) for c in cancels(intents)] == [
        ("off", "price is not a grid level")]


def test_place_order_price_equal_to_level_at_8_decimals_is_not_cancelled() -> None:
    """Rule 3.4.4 step 4: prices are compared rounded to 8 decimals (99.000000001 = 99)."""
    engine, _ = started()
    engine.on_event(order_event(side=BUY, price="99.000000001", qty="0.1", order_id="near"))
    assert cancels(engine.on_event(ticker("100.0", ts=T0 + 1))) == []


def test_place_cancel_is_never_sent_twice_while_pending() -> None:
    """Section 8 (cancel never twice): a pending cancel is not repeated; confirmed, it's gone."""
    engine, _ = started()
    engine.on_event(order_event(side=BUY, price="95.55", qty="0.1", order_id="off"))
    assert len(cancels(engine.on_event(ticker("100.0", ts=T0 + 1)))) == 1
    assert cancels(engine.on_event(ticker("100.0", ts=T0 + 2))) == []
    engine.on_event(order_event(side=BUY, price="95.55", qty="0.1", order_id="off",
                                status="Cancelled"))
    assert engine.on_event(ticker("100.0", ts=T0 + 3)) == []


# ---------------------------------------------------------------- place one order: guards


def test_place_buy_needs_positive_diff_and_sell_negative_diff() -> None:
    """Place one order: a BUY level above C or a SELL level below C is never placed."""
    engine = engine_with_grid([[98.0, S], [99.0, B], [100.0, W], [101.0, B], [102.0, S]],
                              long_size=10, short_size=10, grid_count=4)
    intents = engine.on_event(ticker("100.0"))
    assert {(s, p) for _, s, p, _ in placed(intents)} == {(B, 99.0), (S, 102.0)}


def test_place_diff_must_exceed_half_step() -> None:
    """Place one order: |diff| must be > s/2: 99.5 and 100.5 are exactly 0.5 % from 100."""
    engine = engine_with_grid([[99.4, B], [99.5, B], [100.0, W], [100.5, S], [100.6, S]],
                              grid_count=4)
    assert (100 - 99.5) / 100 * 100 == 0.5
    intents = engine.on_event(ticker("100.0"))
    assert {(s, p) for _, s, p, _ in placed(intents)} == {(B, 99.4), (S, 100.6)}


def test_place_wait_level_is_never_placed() -> None:
    """Place one order: WAIT levels are skipped (as a BUY, 100 would be 0.6 % below C)."""
    engine = engine_with_grid([[99.0, B], [100.0, W], [101.0, S]], grid_count=2)
    intents = engine.on_event(ticker("100.6"))
    assert 100.0 not in {p for _, _, p, _ in placed(intents)}


@pytest.mark.parametrize(("direction", "side", "reduce_only", "position_idx"), [
    (LONG, BUY, False, 1), (LONG, SELL, True, 1), (SHORT, SELL, False, 2), (SHORT, BUY, True, 2),
])
def test_place_reduce_only_and_position_idx_follow_direction(direction, side, reduce_only,
                                                             position_idx) -> None:
    """Place one order: long+SELL and short+BUY close; position idx 1 long, 2 short."""
    engine = make_engine()
    feed(engine, position(1, 10, 100), position(2, 10, 100))
    intent = next(i for i in places(engine.on_event(ticker("100.0")))
                  if i.direction == direction and i.side == side)
    assert (intent.reduce_only, intent.position_idx) == (reduce_only, position_idx)


def test_place_intent_carries_exact_decimal_price_qty_and_decodable_id() -> None:
    """Place one order: decimal price/qty on the tick and step; id decodes (docs/validation.md)."""
    engine = make_engine()
    intent = places(engine.on_event(ticker("100.0")))[0]
    assert (intent.symbol, intent.price, intent.qty) == ("BTCUSDT", Decimal("99.0"),
                                                         Decimal("0.100"))
    key = order_ids.decode(intent.client_order_id)
    assert key is not None and len(intent.client_order_id) <= 36
    assert (key.strategy_id, key.direction, key.side, key.price_ticks) == ("t1", LONG, BUY, 990)


def test_place_identical_order_already_held_is_not_placed_again() -> None:
    """Place one order / section 8: two levels at one price give one order, not two."""
    engine = engine_with_grid([[98.0, B], [99.0, B], [99.0, B], [100.0, W], [101.0, S],
                               [102.0, S], [103.0, S]])
    intents = engine.on_event(ticker("100.0"))
    assert order_of(intents, LONG) == [(B, 99.0), (B, 98.0)]


def test_place_pending_placement_is_never_placed_twice_before_ack() -> None:
    """Section 8: an order asked for but not yet acknowledged is held: no second placement."""
    engine = make_engine(fast_path=False)
    assert len(places(engine.on_event(ticker("100.0")))) == 6
    assert engine.on_event(ticker("100.0", ts=T0 + 1)) == []
    assert engine.on_event(ticker("100.3", ts=T0 + 2)) == []


def test_place_externally_held_identical_order_is_not_placed() -> None:
    """Place one order: an identical open order (price, qty, side, reduce-only) is skipped."""
    engine = make_engine()
    engine.on_event(order_event(side=BUY, price="99.0", qty="0.1"))
    intents = engine.on_event(ticker("100.0"))
    assert (LONG, BUY, 99.0, False) not in placed(intents)


@pytest.mark.parametrize(("size", "expected"), [
    ("0.1", []), ("0.2", [101.0]), ("0.25", [101.0, 102.0]), ("0.31", [101.0, 102.0, 103.0]),
])
def test_place_closing_order_needs_position_above_all_closing_qty(size, expected) -> None:
    """Place one order: a closing order only if size > open closing qty + this one (0.1)."""
    engine = make_engine()
    feed(engine, position(1, size, 100))
    intents = engine.on_event(ticker("100.0"))
    assert [p for d, s, p, ro in placed(intents) if ro] == expected


def test_place_closing_guard_counts_open_closing_orders() -> None:
    """Place one order: a held reduce-only SELL of 0.15 counts: 0.3 > 0.15 + 0.1, not + 0.2."""
    engine = make_engine()
    feed(engine, position(1, "0.3", 100),
         order_event(side=SELL, price="101.0", qty="0.15", reduce_only=True))
    intents = engine.on_event(ticker("100.0"))
    assert [p for d, s, p, ro in placed(intents) if ro] == [102.0]


def test_place_two_orders_at_level_other_side_cancelled_same_side_kept() -> None:
    """Rule 3.4.4 / deviation D10: every order at a price is seen; the other side is
    cancelled and nothing is placed while one of the level's side is held there."""
    engine = make_engine()
    feed(engine, position(1, 10, 100),
         order_event(side=BUY, price=101, qty="0.1", order_id="other"),
         order_event(side=SELL, price=101, qty="0.1", reduce_only=True, order_id="same"))
    intents = engine.on_event(ticker("100.0"))
    assert [c.order_id for c in cancels(intents)] == ["other"]
    assert (LONG, SELL, 101.0, True) not in placed(intents)
