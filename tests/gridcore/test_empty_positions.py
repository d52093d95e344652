"""Deviation D2: an empty position never divides by zero (docs/deviations.md).

The legacy sizing divided by an empty side (size 0, entry 0) on the first order of a
direction. In gridcore an empty side has no position ratio, so neither sizing's
``long_koef`` test (rule 5.3) nor the position check (rule 6.3 stops there) reads the
empty side's size or entry. A side reported with a size but no entry price (a position
message without ``avgPrice`` parses to entry 0) has no unrealised PnL instead of a
division by zero.
"""

from __future__ import annotations

import pytest

from gridcore.config import GridConfig
from gridcore.events import BUY
from gridcore.intents import LONG, SHORT
from gridcore.risk import PositionSnapshot, check_positions, neutral_multipliers, position_ratio
from tests.gridcore.conftest import feed, make_engine, places, position, ticker, wallet


@pytest.mark.parametrize(("long_size", "short_size"), [(0, 0), (2, 0), (0, 2)])
def test_empty_side_has_no_position_ratio(long_size: float, short_size: float) -> None:
    assert position_ratio(PositionSnapshot(size=long_size, entry_price=100.0 * bool(long_size)),
                          PositionSnapshot(size=short_size,
                                           entry_price=100.0 * bool(short_size))) is None


def test_empty_short_side_sizes_without_long_koef_and_places_both_directions() -> None:
    """Rule 5.3 needs a position ratio; with the short side empty the step sizes at 1x."""
    engine = make_engine(long_koef=1.5)
    intents = feed(engine, position(1, 2, 100), position(2, 0, 0), wallet(1000),
                   ticker("100.0"))
    assert {i.direction for i in places(intents)} == {LONG, SHORT}
    assert {float(i.qty) for i in places(intents) if not i.reduce_only} == {0.1}


def test_long_koef_applies_once_both_sides_hold_a_position() -> None:
    """The same engine with a short side: ratio 2 applies long_koef (the test above can fail)."""
    engine = make_engine(long_koef=1.5)
    intents = feed(engine, position(1, 2, 100), position(2, 1, 100), wallet(1000),
                   ticker("100.0"))
    assert {float(i.qty) for i in places(intents) if not i.reduce_only} == {0.15}


def test_position_with_size_but_no_entry_price_has_no_unrealised_pnl() -> None:
    """Ratio 1/3 < 0.5 would double long BUYs only with a negative PnL (rule 6.4): none here."""
    config = GridConfig(amount="0.1", grid_count=6, grid_step_pct=1.0)
    long = PositionSnapshot(size=1.0, entry_price=0.0, leverage=10.0)
    short = PositionSnapshot(size=3.0, entry_price=100.0, leverage=10.0)
    assert check_positions(config, long, short, 1000.0, 100.0) == neutral_multipliers()
    with_entry = PositionSnapshot(size=1.0, entry_price=110.0, leverage=10.0)
    assert check_positions(config, with_entry, short, 1000.0, 100.0)[(LONG, BUY)] == 2.0


def test_engine_survives_a_position_event_without_entry_price() -> None:
    engine = make_engine()
    intents = feed(engine, position(1, 1, 0), position(2, 3, 100), wallet(1000),
                   ticker("100.0"))
    assert places(intents) and set(engine.multipliers.values()) == {1.0}
