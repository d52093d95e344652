"""Deviation D2: an empty position never divides by zero (docs/deviations.md).

The legacy bot divided by an empty side's entry price (size 0, entry 0) in two places:

* in the position check, which then stopped: the multipliers and the ratio are exactly
  what gridcore computes (rule 6.7), but the legacy check never refreshed the short side's
  stored position after an empty long, so its closing-order guard kept reading an old
  short position; gridcore reads both sides at every check;
* when sizing the first order of a direction whose stored position was never read, which
  aborted the rest of that step (that direction's orders went out one poll later);
  gridcore's first step reads both sides before it sizes anything and carries on.
"""

from __future__ import annotations

from gridcore.intents import LONG, SHORT
from tests.gridcore.conftest import T0, feed, make_engine, places, position, ticker, wallet


def test_empty_positions_first_step_places_both_directions() -> None:
    """Both sides flat at the first step: every opening level of both directions is placed
    (the legacy step stopped at the first short order and placed those a poll later)."""
    engine = make_engine()
    intents = feed(engine, position(1, 0, 0), position(2, 0, 0), wallet(1000), ticker("100.0"))
    assert {(i.direction, i.reduce_only) for i in places(intents)} == {(LONG, False),
                                                                       (SHORT, False)}
    assert len(places(intents)) == 6


def test_empty_long_check_still_reads_the_short_side() -> None:
    """The long empties, the short grows to 3: the check after that reads the short as 3
    (the legacy check stopped at the empty long and kept the short of 1)."""
    engine = make_engine()
    feed(engine, position(1, 1, 100), position(2, 1, 100), wallet(1000), ticker("100.0"))
    assert engine.check.position(SHORT).size == 1
    feed(engine, position(1, 0, 0, ts=T0 + 1), position(2, 3, 100, ts=T0 + 1),
         ticker("100.0", ts=T0 + 63_000))
    assert engine.check.position(SHORT).size == 3
    assert engine.check.position(LONG).size == 0


def test_empty_long_check_leaves_multipliers_and_ratio_as_legacy() -> None:
    """What the legacy check did compute before it stopped is kept: all multipliers 1.0
    (the short's liquidation rule is not reached) and the ratio of the check before."""
    engine = make_engine()
    feed(engine, position(1, 2, 100), position(2, 1, 100), wallet(1000), ticker("100.0"))
    assert engine.check.ratio == 2.0
    feed(engine, position(1, 0, 0, ts=T0 + 1), position(2, 1, 100, liq=110, ts=T0 + 1),
         ticker("100.0", ts=T0 + 63_000))
    assert set(engine.multipliers.values()) == {1.0}
    assert engine.check.ratio == 2.0


def test_position_with_size_but_no_entry_price_ends_the_check_without_error() -> None:
    """A position message without ``avgPrice`` parses to entry 0: the check ends there, as
    at any entry of 0, and the step goes on."""
    engine = make_engine()
    intents = feed(engine, position(1, 1, 0), position(2, 3, 100), wallet(1000),
                   ticker("100.0"))
    assert places(intents) and set(engine.multipliers.values()) == {1.0}
