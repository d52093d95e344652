"""Rule 6: the position check and its size multipliers.

Each case feeds positions (and a wallet), then two tickers 63 s apart, and reads the
multipliers the second check left; ``changed`` lists only those that are not 1.0. Two
checks, because the rules read the ratio and the short margin of the *previous* check
(rules 6.3 and 6.4, tested on their own at the end).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcore.events import BUY, SELL
from gridcore.intents import LONG, SHORT
from tests.gridcore.conftest import T0, feed, make_engine, places, position, ticker, wallet

LB, LS, SB, SS = (LONG, BUY), (LONG, SELL), (SHORT, BUY), (SHORT, SELL)


def changed(long: dict, short: dict, *, close: str = "100.0", balance: float | None = None,
            checks: int = 2, **config) -> dict[tuple[str, str], float]:
    """Multipliers other than 1.0 after ``checks`` position checks with these positions."""
    engine = make_engine(**config)
    events = [position(1, **long), position(2, **short)]
    if balance is not None:
        events.append(wallet(balance))
    feed(engine, *events, ticker(close))
    for later in range(1, checks):
        feed(engine, ticker(close, ts=T0 + 63_000 * later))
    return {key: value for key, value in engine.multipliers.items() if value != 1.0}


def pos(size, entry=100, liq=0, value=None) -> dict:
    return {"size": size, "entry": entry, "liq": liq, "value": value}


# ---------------------------------------------------------------- 6.1 - 6.3


def test_position_check_reset_to_one_at_next_check() -> None:
    """Rule 6.1: every check starts from 1.0 (a 1.5 from the last check does not stay)."""
    engine = make_engine()
    feed(engine, position(1, 1, 100, liq=85), position(2, 1, 100), ticker("100.0"))
    assert engine.multipliers[LS] == 1.5
    feed(engine, position(1, 1, 100, liq=0), ticker("100.0", ts=T0 + 63_000))
    assert set(engine.multipliers.values()) == {1.0}


def test_position_check_empty_long_ends_the_check() -> None:
    """Rule 6.7: an empty long (entry 0) ends the check: the short's liq rule is not read."""
    assert changed(pos(0, 0), pos(1, liq=110)) == {}


def test_position_check_empty_short_still_runs_the_long_rules() -> None:
    """Rule 6.7: the long rules run before the check reaches the empty short."""
    assert changed(pos(1, liq=85), pos(0, 0)) == {LS: 1.5}
    assert changed(pos(1, liq=85), pos(0, 0, liq=110)) == {LS: 1.5}


def test_position_check_empty_positions_place_both_directions() -> None:
    """Section 8: empty positions (size 0, entry 0) do not divide by zero; the step goes on."""
    engine = make_engine()
    intents = feed(engine, position(1, 0, 0), position(2, 0, 0), wallet(1000), ticker("100.0"))
    assert {i.direction for i in places(intents)} == {LONG, SHORT}
    assert len(places(intents)) == 6


# ---------------------------------------------------------------- 6.4 long position


def test_position_check_long_liq_ratio_above_105pct_of_min_sells_more_long() -> None:
    """Rule 6.4 branch 1: Lq / C = 0.85 > 1.05 × 0.8 -> long SELL 1.5."""
    assert changed(pos(1, liq=85), pos(1)) == {LS: 1.5}


@pytest.mark.parametrize("liq", [84, 81])
def test_position_check_long_liq_ratio_above_min_halves_short_buy(liq: int) -> None:
    """Rule 6.4 branch 2: 0.8 < Lq / C <= 1.05 × 0.8 (0.84 is not above 0.84) -> short BUY 0.5."""
    assert changed(pos(1, liq=liq), pos(1)) == {SB: 0.5}


@pytest.mark.parametrize(("increase", "expected"), [(False, {LS: 0.5}), (True, {LB: 2.0})])
def test_position_check_long_low_margin_rule_both_settings(increase, expected) -> None:
    """Rules 6.4 branch 3 and 6.6: margins equal, total 0.2 < 1.0 -> low-margin rule.

    Off: long SELL 0.5; on: long BUY 2.0. (The short side is near liquidation, 1.1 < 1.14,
    so its own check gives short BUY 1.5 and cannot apply the low-margin rule too.)
    """
    result = changed(pos(1, liq=80), pos(1, liq=110), balance=1000, min_total_margin=1.0,
                     increase_same_position_on_low_margin=increase)
    assert result == {**expected, SB: 1.5}


@pytest.mark.parametrize(("long_value", "equal"), [(93, False), (95, True), (104, True),
                                                   (106, False)])
def test_position_check_margins_equal_is_between_094_and_105(long_value, equal) -> None:
    """Rules 6.2 and 6.4: margin = value / balance; equal when 0.94 < long/short < 1.05."""
    result = changed(pos(1, value=long_value), pos(1, liq=110), balance=1000,
                     min_total_margin=1.0)
    assert (LS in result) is equal


@pytest.mark.parametrize(("balance", "low"), [(200, False), (201, True)])
def test_position_check_total_margin_must_be_below_threshold(balance, low) -> None:
    """Rule 6.4 branch 3: total margin 100/200 + 100/200 = 1.0 is not < 1.0."""
    result = changed(pos(1), pos(1, liq=110), balance=balance, min_total_margin=1.0)
    assert (LS in result) is low


def test_position_check_long_small_and_losing_doubles_long_buy() -> None:
    """Rule 6.4 branch 4: ratio 1/3 < 0.5 and long upnl < 0 (C 95 < E 100) -> long BUY 2."""
    assert changed(pos(1), pos(3), close="95.0") == {LB: 2.0}


def test_position_check_long_small_but_winning_keeps_one() -> None:
    """Rule 6.4 branches 4-5: ratio 1/3 with long upnl > 0 is neither branch."""
    assert changed(pos(1), pos(3), close="105.0") == {}


def test_position_check_long_very_small_doubles_long_buy() -> None:
    """Rule 6.4 branch 5: ratio 1/6 < 0.2 -> long BUY 2 even with upnl > 0."""
    assert changed(pos(1), pos(6), close="105.0") == {LB: 2.0}


# ---------------------------------------------------------------- 6.5 short position


def test_position_check_short_liq_ratio_below_95pct_of_max_buys_more_short() -> None:
    """Rule 6.5 branch 1: 0 < Lq / C = 1.1 < 0.95 × 1.2 -> short BUY 1.5."""
    assert changed(pos(1), pos(1, liq=110)) == {SB: 1.5}


def test_position_check_short_liq_ratio_below_max_halves_long_sell() -> None:
    """Rule 6.5 branch 2: 1.14 <= Lq / C = 1.15 < 1.2 -> long SELL 0.5."""
    assert changed(pos(1), pos(1, liq=115)) == {LS: 0.5}


def test_position_check_short_liq_ratio_at_max_changes_nothing() -> None:
    """Rule 6.5 branches 1-2: Lq / C = 1.2 is not < max_liq_ratio."""
    assert changed(pos(1), pos(1, liq=120)) == {}


@pytest.mark.parametrize(("increase", "expected"), [(False, {SB: 0.5}), (True, {SS: 2.0})])
def test_position_check_short_low_margin_rule_both_settings(increase, expected) -> None:
    """Rules 6.5 branch 3 and 6.6: off -> short BUY 0.5; on -> short SELL 2.0.

    (The long side is near liquidation, 0.85, so its check gives long SELL 1.5.)
    """
    result = changed(pos(1, liq=85), pos(1), balance=1000, min_total_margin=1.0,
                     increase_same_position_on_low_margin=increase)
    assert result == {**expected, LS: 1.5}


def test_position_check_both_low_margin_rules_apply_together() -> None:
    """Rules 6.4-6.6: with no liquidation pressure both sides take the low-margin rule."""
    result = changed(pos(1), pos(1), balance=1000, min_total_margin=1.0)
    assert result == {LS: 0.5, SB: 0.5}


def test_position_check_short_large_ratio_and_losing_doubles_short_sell() -> None:
    """Rule 6.5 branch 4: ratio 3 > 2 and short upnl < 0 (C 105 > E 100) -> short SELL 2."""
    assert changed(pos(3), pos(1), close="105.0") == {SS: 2.0}


def test_position_check_short_large_ratio_but_winning_keeps_one() -> None:
    """Rule 6.5 branches 4-5: ratio 3 with short upnl > 0 is neither branch."""
    assert changed(pos(3), pos(1), close="95.0") == {}


def test_position_check_short_very_large_ratio_doubles_short_sell() -> None:
    """Rule 6.5 branch 5: ratio 6 > 5 -> short SELL 2 even with upnl > 0."""
    assert changed(pos(6), pos(1), close="95.0") == {SS: 2.0}


def test_position_check_short_rule_overrides_long_rule_on_long_sell() -> None:
    """Rules 6.4-6.5 in order: long sets long SELL 1.5, then short sets it to 0.5."""
    assert changed(pos(1, liq=85), pos(1, liq=115)) == {LS: 0.5}


def test_position_check_multiplier_reaches_order_quantity() -> None:
    """Rule 6 with 5.3: the short BUY 1.5 multiplier grows the reduce-only short BUYs."""
    engine = make_engine(amount="0.5")
    intents = feed(engine, position(1, 5, 100), position(2, 5, 100, liq=110), ticker("100.0"))
    short_buys = {i.qty for i in places(intents) if i.direction == SHORT and i.side == BUY}
    assert short_buys == {Decimal("0.750")}
