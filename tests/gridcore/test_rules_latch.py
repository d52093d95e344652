"""Rule 7: the "same order" latch (and rule 3.1: a set latch stops every step)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gridcore.events import BUY, SELL
from tests.gridcore.conftest import (
    SYMBOL,
    T0,
    feed,
    fill,
    make_engine,
    places,
    raw_fill,
    started,
    ticker,
)


def latched(*fills: tuple[str, float, str, float]) -> bool:
    """Feed full fills given oldest first as (side, price, order id, closed size), each in
    its own message one millisecond after the previous one."""
    engine = make_engine()
    feed(engine, *[raw_fill(side=side, price=price, order_id=oid, closed_size=closed,
                            ts=T0 + n)
                   for n, (side, price, oid, closed) in enumerate(fills)])
    return engine.latch.is_set


@pytest.mark.parametrize(("side", "closed"), [
    (BUY, 0.1),   # `long` group: BUY that closed something
    (SELL, 0),    # `long` group: SELL that closed nothing
    (BUY, 0),     # `short` group: BUY that closed nothing
    (SELL, 0.1),  # `short` group: SELL that closed something
])
def test_latch_two_fills_same_price_side_different_ids_sets(side: str, closed: float) -> None:
    """Rule 7: the two newest fills of a group, same price and side, two order ids: set."""
    assert latched((side, 99.0, "a", closed), (side, 99.0, "b", closed))


def test_latch_same_order_id_does_not_set() -> None:
    """Rule 7: two fills of one order id at one price are not a glitch."""
    assert not latched((BUY, 99.0, "a", 0), (BUY, 99.0, "a", 0))


def test_latch_different_prices_do_not_set() -> None:
    """Rule 7: different prices in the group: no latch."""
    assert not latched((BUY, 99.0, "a", 0), (BUY, 98.0, "b", 0))


def test_latch_same_group_different_sides_do_not_set() -> None:
    """Rule 7: a closing BUY and an opening SELL share a group but not a side: no latch."""
    assert not latched((BUY, 99.0, "a", 0.1), (SELL, 99.0, "b", 0))


def test_latch_other_group_fill_in_between_still_sets() -> None:
    """Rule 7: each group's two newest are compared, whatever the other group did between."""
    assert latched((BUY, 99.0, "a", 0), (SELL, 101.0, "c", 0), (BUY, 99.0, "b", 0))


def test_latch_fills_of_different_groups_do_not_pair() -> None:
    """Rule 7: an opening BUY and a closing BUY at one price are in different groups."""
    assert not latched((BUY, 99.0, "a", 0), (BUY, 99.0, "b", 0.1))


def test_latch_only_two_newest_of_a_group_count() -> None:
    """Rule 7: a newer fill at another price clears it (the legacy way out)."""
    assert not latched((BUY, 99.0, "a", 0), (BUY, 99.0, "b", 0), (BUY, 98.0, "c", 0))


def test_latch_partial_fills_do_not_count() -> None:
    """Rule 7: only full fills are kept (leaves quantity > 0 is not one)."""
    engine, intents = started()
    buy = next(i for i in places(intents) if float(i.price) == 99.0)
    feed(engine, fill(buy, order_id="a", leaves_qty="0.05"),
         fill(buy, order_id="b", leaves_qty="0.05"))
    assert not engine.latch.is_set


def test_latch_set_stops_steps_until_operator_clears_it() -> None:
    """Rules 7 and 3.1: while set, steps do nothing; the operator action resumes trading."""
    engine = make_engine()
    feed(engine, raw_fill(side=BUY, price=99, order_id="a"),
         raw_fill(side=BUY, price=99, order_id="b"))
    assert engine.on_event(ticker("100.0")) == []
    assert engine.grid.levels == []
    engine.clear_same_order_latch()
    assert not engine.latch.is_set
    assert len(places(engine.on_event(ticker("100.0", ts=T0 + 1)))) == 6


def test_latch_cleared_fills_do_not_set_it_again_with_one_new_fill() -> None:
    """Rule 7: clearing forgets the fills that set it; one more such fill is not a pair."""
    engine = make_engine()
    feed(engine, raw_fill(side=BUY, price=99, order_id="a"),
         raw_fill(side=BUY, price=99, order_id="b"))
    engine.clear_same_order_latch()
    engine.on_event(raw_fill(side=BUY, price=99, order_id="c"))
    assert not engine.latch.is_set


def test_latch_fill_of_other_symbol_is_ignored() -> None:
    """Rule 7: fills are per strategy (one symbol); another symbol's fills do not count."""
    engine = make_engine()
    other = replace(raw_fill(side=BUY, price=99, order_id="b"), symbol="ETHUSDT")
    feed(engine, raw_fill(side=BUY, price=99, order_id="a"), other)
    assert engine.symbol == SYMBOL
    assert not engine.latch.is_set
