"""Rule 2: the grid (build steps 1-4, update steps 1-3, re-centre and its deviation).

Expected prices are computed here from the rule text with the legacy float rounding.
"""

from __future__ import annotations

import pytest

from gridcore.events import BUY, SELL
from gridcore.grid import WAIT, Grid, GridLevel
from tests.gridcore.conftest import expected_build, levels, make_engine, ticker
from tests.gridcore.conftest import legacy_round as rnd


def grid_at(price: float = 100.0, n: int = 6, step: float = 1.0, tick: float = 0.1) -> Grid:
    grid = Grid(tick, n, step)
    grid.build(price)
    return grid


def snapshot(grid: Grid) -> list[tuple[float, str]]:
    return [(level.price, level.side) for level in grid.levels]


# ---------------------------------------------------------------- build (rule 2, steps 1-4)


def test_grid_build_at_100_gives_legacy_levels() -> None:
    """Rule 2 build 1-4: n=6, s=1 %, tick 0.1 at 100 -> 97..99 BUY, 100 WAIT, 101..103 SELL."""
    assert snapshot(grid_at(100.0)) == [
        (97.0, BUY), (98.0, BUY), (99.0, BUY), (100.0, WAIT),
        (101.0, SELL), (102.0, SELL), (103.0, SELL),
    ]


def test_grid_build_each_step_starts_from_previous_rounded_price() -> None:
    """Rule 2 build 2: 100.04 -> 101.0 -> round(101.0 × 1.01) = 102.0, not round(102.05)."""
    grid = grid_at(100.04, n=4)
    assert [p for p, _ in snapshot(grid)][3:] == [101.0, 102.0]
    assert rnd(100.04 * 1.01 * 1.01) == 102.1  # what rounding only at the end would give


def test_grid_build_first_step_starts_from_unrounded_price() -> None:
    """Rule 2 build 2: q starts at P itself: tick 1, s 0.5, P 100.45 -> first SELL 101."""
    grid = grid_at(100.45, n=2, step=0.5, tick=1.0)
    assert snapshot(grid) == [(100.0, BUY), (100.0, WAIT), (101.0, SELL)]


@pytest.mark.parametrize(("price", "n", "step", "tick"), [
    (100.0, 6, 1.0, 0.1), (30_123.4, 40, 0.2, 0.1), (4.77, 20, 0.45, 0.01),
    (1_999.99, 20, 0.75, 0.01), (0.5123, 10, 0.5, 0.0001), (61_000.0, 2, 5.0, 0.5),
])
def test_grid_build_various_inputs_match_rule_text(price, n, step, tick) -> None:
    """Rule 2 build 1-4 for the legacy live examples' sizes and steps."""
    assert snapshot(grid_at(price, n, step, tick)) == expected_build(price, n, step, tick)


def test_grid_build_tick_rounding_keeps_477_exact() -> None:
    """Rule 2 numbers: round(p/tick)*tick formatted to 10 decimals, so 4.77 stays 4.77."""
    grid = grid_at(4.77, n=2, step=1.0, tick=0.01)
    assert grid.levels[1].price == 4.77
    assert repr(grid.levels[1].price) == "4.77"


@pytest.mark.parametrize("n", [2, 6, 7, 40])
def test_grid_build_counts_half_buy_one_wait_half_sell(n: int) -> None:
    """Rule 2 build 4: n/2 BUY, one WAIT, n/2 SELL (integer division), sorted ascending."""
    sides = [side for _, side in snapshot(grid_at(100.0, n=n, step=0.2))]
    assert sides == [BUY] * (n // 2) + [WAIT] + [SELL] * (n // 2)
    prices = [p for p, _ in snapshot(grid_at(100.0, n=n, step=0.2))]
    assert prices == sorted(prices)


@pytest.mark.parametrize("price", [None, 0.0, -5.0])
def test_grid_build_unknown_or_non_positive_price_builds_nothing(price) -> None:
    """Rule 2 build: only when P is known and > 0."""
    grid = Grid(0.1, 6, 1.0)
    grid.build(price)
    assert grid.levels == []


def test_engine_first_ticker_builds_grid_at_last_price() -> None:
    """Rule 2 build via rule 3.2: the first step builds the grid at C."""
    engine = make_engine()
    engine.on_event(ticker("100.0"))
    assert levels(engine) == expected_build(100.0, 6, 1.0, 0.1)


def test_engine_one_level_grid_is_rebuilt_at_last_price() -> None:
    """Rule 3.2: a grid of at most one level is built at C."""
    engine = make_engine()
    engine.grid.load_state([[90.0, WAIT]], builds=1)
    engine.on_event(ticker("100.0"))
    assert levels(engine) == expected_build(100.0, 6, 1.0, 0.1)


def test_engine_second_ticker_inside_grid_does_not_rebuild() -> None:
    """Rule 3.2: a grid with levels is not rebuilt by a step (only updated)."""
    engine = make_engine()
    engine.on_event(ticker("100.0"))
    engine.on_event(ticker("101.5", ts=2))
    assert engine.grid.builds == 1
    assert [p for p, _ in levels(engine)] == [97.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0]


# ---------------------------------------------------------------- update (rule 2, steps 1-3)


@pytest.mark.parametrize(("filled", "close"), [(None, 100.5), (100.0, None), (None, None)])
def test_grid_update_unknown_fill_or_close_is_skipped(filled, close) -> None:
    """Rule 2 update: skipped if either price is unknown."""
    grid = grid_at(100.0)
    before, version = snapshot(grid), grid.version
    grid.update(filled, close)
    assert snapshot(grid) == before
    assert grid.version == version


@pytest.mark.parametrize("close", [103.0, 97.0, 103.5, 96.0])
def test_grid_update_close_not_strictly_inside_rebuilds_at_close(close: float) -> None:
    """Rule 2 update 1: C at or beyond the lowest/highest level price: rebuild at C."""
    grid = grid_at(100.0)
    grid.update(50.0, close)  # a far fill: no level becomes WAIT after the rebuild
    rebuilt = expected_build(close, 6, 1.0, 0.1)
    sides = [WAIT if p == close else (SELL if close < p else BUY) for p, _ in rebuilt]
    sides[3] = WAIT if rebuilt[3][0] == close else sides[3]
    assert snapshot(grid) == [(p, s) for (p, _), s in zip(rebuilt, sides, strict=True)]
    assert grid.builds == 2


def test_grid_update_close_strictly_inside_does_not_rebuild() -> None:
    """Rule 2 update 1: 97 < 97.1 < 103, so no rebuild."""
    grid = grid_at(100.0)
    grid.update(50.0, 97.1)
    assert grid.builds == 1


def test_grid_update_levels_within_quarter_step_of_fill_become_wait() -> None:
    """Rule 2 update 2: |level - F| / level × 100 < s/4 -> WAIT; others by side of C."""
    grid = grid_at(100.0)
    grid.update(100.2, 100.0)  # level 100: 0.2 % < 0.25 % -> WAIT
    assert snapshot(grid) == [
        (97.0, BUY), (98.0, BUY), (99.0, BUY), (100.0, WAIT),
        (101.0, SELL), (102.0, SELL), (103.0, SELL),
    ]


def test_grid_update_distance_exactly_quarter_step_is_not_wait() -> None:
    """Rule 2 update 2: the WAIT test is strict: 0.25 % from F with s/4 = 0.25 % is not WAIT."""
    grid = grid_at(100.0)
    assert abs(100.0 - 100.25) / 100.0 * 100 == 0.25
    grid.update(100.25, 100.1)
    assert snapshot(grid)[3] == (100.0, BUY)


def test_grid_update_levels_above_close_sell_below_close_buy() -> None:
    """Rule 2 update 2: C < level -> SELL, C > level -> BUY (the old WAIT 100 becomes SELL)."""
    grid = grid_at(100.0)
    grid.update(50.0, 99.5)
    assert [s for _, s in snapshot(grid)] == [BUY, BUY, BUY, SELL, SELL, SELL, SELL]


def test_grid_update_close_equal_to_level_keeps_its_side() -> None:
    """Rule 2 update 2: if C equals a level price, that level keeps its side (WAIT here)."""
    grid = grid_at(100.0)
    grid.update(50.0, 100.0)
    assert snapshot(grid)[3] == (100.0, WAIT)


@pytest.mark.parametrize("kept", [BUY, SELL])
def test_grid_update_close_equal_to_level_keeps_buy_or_sell(kept: str) -> None:
    """Rule 2 update 2: a BUY or SELL level at exactly C is left as it is."""
    grid = grid_at(100.0)
    grid.levels[2].side = kept  # level 99.0
    grid.update(50.0, 99.0)
    assert dict(snapshot(grid))[99.0] == kept


def test_grid_update_then_recentres() -> None:
    """Rule 2 update 3: after re-siding, re-centre (4 BUY v 2 SELL -> move one level up)."""
    grid = grid_at(100.0)
    grid.update(101.0, 100.5)  # 97..100 BUY, 101 WAIT, 102, 103 SELL: (4-2)/6 > 0.3
    assert snapshot(grid) == [
        (98.0, BUY), (99.0, BUY), (100.0, BUY), (101.0, WAIT),
        (102.0, SELL), (103.0, SELL), (rnd(103.0 * 1.01), SELL),
    ]


# ---------------------------------------------------------------- re-centre (rule 2)


def test_grid_recentre_more_buys_drops_lowest_adds_sell_above_highest_sell() -> None:
    """Rule 2 re-centre: (b-a)/(b+a) > 0.3 -> drop lowest, SELL at round(H × (1+s/100))."""
    grid = grid_at(100.0)
    grid.update(102.0, 102.5)  # 97..101 BUY, 102 WAIT, 103 SELL: (5-1)/6 > 0.3
    assert snapshot(grid) == [
        (98.0, BUY), (99.0, BUY), (100.0, BUY), (101.0, BUY), (102.0, WAIT),
        (103.0, SELL), (rnd(103.0 * 1.01), SELL),
    ]


def test_grid_recentre_more_sells_drops_highest_adds_buy_below_lowest() -> None:
    """Rule 2 re-centre: (a-b)/(b+a) > 0.3 -> drop highest, BUY at round(L × (1-s/100))."""
    grid = grid_at(100.0)
    grid.update(98.0, 97.5)  # 97 BUY, 98 WAIT, 99..103 SELL
    assert snapshot(grid) == [
        (rnd(97.0 * 0.99), BUY), (97.0, BUY), (98.0, WAIT), (99.0, SELL),
        (100.0, SELL), (101.0, SELL), (102.0, SELL),
    ]


def test_grid_recentre_lowest_level_any_side_is_the_base_of_new_buy() -> None:
    """Rule 2 re-centre: L is the lowest level's price whatever its side (a WAIT here)."""
    grid = grid_at(100.0)
    grid.update(97.0, 97.5)  # 97 WAIT (the fill), 98..103 SELL: b=0, a=6
    assert snapshot(grid)[:2] == [(rnd(97.0 * 0.99), BUY), (97.0, WAIT)]
    assert snapshot(grid)[-1] == (102.0, SELL)


def _grid_with_buys(buys: int) -> Grid:
    """n=20: C just above level ``buys - 1`` and F on level ``buys``: buys BUY, 1 WAIT."""
    grid = grid_at(100.0, n=20)
    prices = [level.price for level in grid.levels]
    close = (prices[buys - 1] + prices[buys]) / 2
    grid.update(prices[buys], close)
    return grid


def test_grid_recentre_imbalance_exactly_point_three_does_not_move() -> None:
    """Rule 2 re-centre: the threshold is strict: (13 - 7) / 20 = 0.3 is not > 0.3."""
    before = [p for p, _ in expected_build(100.0, 20, 1.0, 0.1)]
    grid = _grid_with_buys(13)
    assert [p for p, _ in snapshot(grid)] == before
    assert [s for _, s in snapshot(grid)].count(BUY) == 13


def test_grid_recentre_imbalance_above_point_three_moves_one_level() -> None:
    """Rule 2 re-centre: (14 - 6) / 20 = 0.4 > 0.3 moves exactly one level to the top."""
    before = [p for p, _ in expected_build(100.0, 20, 1.0, 0.1)]
    grid = _grid_with_buys(14)
    assert [p for p, _ in snapshot(grid)] == before[1:] + [rnd(before[-1] * 1.01)]


def test_grid_recentre_no_buy_no_sell_stops() -> None:
    """Rule 2 re-centre: b + a = 0 -> stop (no division by zero, nothing moved)."""
    grid = Grid(1.0, 2, 0.1)  # tick 1, s 0.1 %: every level rounds to 100
    grid.build(100.0)
    grid.update(100.0, 100.0)
    assert snapshot(grid) == [(100.0, WAIT), (100.0, WAIT), (100.0, WAIT)]


def test_grid_recentre_buys_and_no_sell_never_adds_zero_price_level() -> None:
    """Rule 2 re-centre deviation (section 8): b > 0, a = 0 must not add a SELL at 0.

    F on the top level and C just under it: six BUY, one WAIT, no SELL. The legacy code
    took H = 0; gridcore must keep every price positive and the grid sorted, with the new
    SELL on top.
    """
    grid = grid_at(100.0)
    grid.update(103.0, 102.9)
    prices = [p for p, _ in snapshot(grid)]
    assert all(p > 0 for p in prices)
    assert prices == sorted(prices)
    assert len(prices) == 7
    assert prices[0] == 98.0  # the lowest level was dropped
    assert snapshot(grid)[-1][1] == SELL
    assert prices[-1] > 103.0


def test_grid_levels_are_grid_level_values() -> None:
    """Rule 2: each level has a price and a side."""
    assert grid_at(100.0).levels[3] == GridLevel(100.0, WAIT)


def test_grid_update_unsorted_levels_uses_min_and_max_for_rebuild_test() -> None:
    """Rule 2 update step 1 says min and max level price, not first and last level."""
    grid = Grid(0.1, 4, 1.0)
    grid.load_state([[98.0, "Buy"], [99.0, "Buy"], [100.0, "Wait"], [101.0, "Sell"],
                     [100.9, "Sell"]], 1)
    grid.update(100.0, 100.95)  # min 98 < 100.95 < max 101: no rebuild
    assert grid.builds == 1
