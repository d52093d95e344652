"""Rule 5: order quantity (base amount, minimum, multipliers and long_koef, rounding up)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import pytest

from gridcore.events import BUY
from gridcore.intents import LONG, SHORT
from tests.gridcore.conftest import T0, ack, feed, make_engine, places, position, ticker, wallet


def ceil_step(value: Decimal, step: str = "0.001") -> Decimal:
    """Round up to the quantity step, in exact decimal (rule 5.1/5.4)."""
    unit = Decimal(step)
    return (value / unit).to_integral_value(rounding=ROUND_CEILING) * unit


def qty_by_price(intents, *, reduce_only: bool | None = None) -> dict[float, Decimal]:
    return {float(i.price): i.qty for i in places(intents)
            if reduce_only is None or i.reduce_only == reduce_only}


def test_sizing_balance_fraction_is_balance_over_price_times_f_rounded_up() -> None:
    """Rule 5.1: x0.001 with 10000 USDT at level 99 -> ceil(10000 / 99 × 0.001) = 0.102."""
    engine = make_engine(amount="x0.001")
    intents = feed(engine, wallet(10_000), ticker("100.0"))
    expected = {p: ceil_step(Decimal(10_000) / Decimal(str(p)) * Decimal("0.001"))
                for p in (97.0, 98.0, 99.0, 101.0, 102.0, 103.0)}
    assert qty_by_price(intents) == expected
    assert expected[99.0] == Decimal("0.102")


def test_sizing_wallet_balance_adds_usd_value_of_other_coins() -> None:
    """Rule 5.1: balance = USDT wallet balance + USD value of other coins (6000 + 4000)."""
    engine = make_engine(amount="x0.001")
    intents = feed(engine, wallet(6_000, ("BTC", "0.1", "4000")), ticker("100.0"))
    assert qty_by_price(intents)[99.0] == Decimal("0.102")


def test_sizing_balance_fraction_without_wallet_places_nothing() -> None:
    """Rule 5.1: an x<f> amount cannot be sized before the wallet balance is known."""
    engine = make_engine(amount="x0.001")
    assert engine.on_event(ticker("100.0")) == []


def test_sizing_fixed_amount_below_5_usdt_is_raised_to_minimum_notional() -> None:
    """Rule 5.2: at least 5 USDT: 0.001 at 99 -> ceil(5 / 99) = 0.051; at 98 -> 0.052."""
    engine = make_engine(amount="0.001")
    intents = engine.on_event(ticker("100.0"))
    expected = {p: ceil_step(Decimal(5) / Decimal(str(p)))
                for p in (97.0, 98.0, 99.0, 101.0, 102.0, 103.0)}
    assert qty_by_price(intents) == expected
    assert (expected[99.0], expected[98.0]) == (Decimal("0.051"), Decimal("0.052"))


def test_sizing_minimum_is_at_least_one_qty_step() -> None:
    """Rule 5.2: at least qty_step: 0.0001 at ~30000 (5 USDT = 0.00017) -> 0.001."""
    engine = make_engine(amount="0.0001")
    intents = engine.on_event(ticker("30000.0"))
    assert set(qty_by_price(intents).values()) == {Decimal("0.001")}


def test_sizing_fixed_amount_above_minimum_is_kept() -> None:
    """Rule 5.1/5.2: a fixed 0.1 at ~100 (10 USDT) is above the minimum and kept."""
    engine = make_engine(amount="0.1")
    assert set(qty_by_price(engine.on_event(ticker("100.0"))).values()) == {Decimal("0.100")}


def test_sizing_direction_side_multiplier_scales_and_rounds_up() -> None:
    """Rule 5.3/5.4: long SELL multiplier 1.5 (long near liquidation): 0.101 × 1.5 -> 0.152."""
    engine = make_engine(amount="0.101")
    intents = feed(engine, position(1, 10, 100, liq=90), position(2, 10, 100), ticker("100.0"))
    long_sells = {float(i.price): i.qty for i in places(intents)
                  if i.direction == LONG and i.reduce_only}
    assert long_sells == {101.0: Decimal("0.152"), 102.0: Decimal("0.152"),
                          103.0: Decimal("0.152")}
    long_buys = {i.qty for i in places(intents) if i.direction == LONG and not i.reduce_only}
    assert long_buys == {Decimal("0.101")}


@pytest.mark.parametrize(("long_size", "short_size", "liq", "applies"), [
    (2, 1, 0, True),       # ratio 2: 1.1 < 2 < 10, no liquidation prices
    ("1.1", 1, 0, False),  # ratio 1.1 is not > 1.1
    (10, 1, 0, False),     # ratio 10 is not < 10
    (2, 1, 50, False),     # a liquidation price on the long side
    ("0.5", 1, 0, False),  # ratio 0.5
])
def test_sizing_long_koef_applies_between_ratio_bounds_without_liquidation(
        long_size, short_size, liq, applies) -> None:
    """Rule 5.3: × long_koef when 1.1 < long/short size < 10 and no liquidation prices.

    (Ratio 10 also sets the short SELL multiplier by rule 6.5, so only long BUYs are read.)
    """
    engine = make_engine(amount="0.1", long_koef=1.37)
    intents = feed(engine, position(1, long_size, 100, liq=liq),
                   position(2, short_size, 100), ticker("100.0"))
    long_buys = {i.qty for i in places(intents) if i.direction == LONG and not i.reduce_only}
    assert long_buys == {Decimal("0.137") if applies else Decimal("0.100")}


def test_sizing_round_up_is_decimal_so_0007_stays_seven_steps() -> None:
    """Rule 5.4 / deviation D7: 0.007 / 0.001 is 7.000000000000001 in floats; still 0.007."""
    engine = make_engine(amount="0.007")
    intents = engine.on_event(ticker("1000.0"))  # 5 USDT at ~990 is 0.006: the 0.007 stands
    assert set(qty_by_price(intents).values()) == {Decimal("0.007")}


def test_sizing_multiplier_product_on_the_step_is_not_rounded_up() -> None:
    """Rules 5.3/5.4: 0.1 × 1.5 is 0.15 exactly on the step, not 0.151 (float noise)."""
    engine = make_engine(amount="0.1")
    intents = feed(engine, position(1, 1, 100), position(2, 1, 100, liq=110), ticker("100.0"))
    short_buys = {i.qty for i in places(intents) if i.direction == SHORT and i.side == BUY}
    assert short_buys == {Decimal("0.150")}


def test_sizing_reads_the_newest_wallet_event_at_once() -> None:
    """D12: a wallet event changes the next order's size at once (the legacy bot read the
    wallet by REST at most every 620 s)."""
    engine = make_engine(amount="x0.001")
    first = feed(engine, wallet(10_000), ticker("100.0"))
    for intent in places(first):
        engine.on_event(ack(intent, status="Cancelled"))
    again = feed(engine, wallet(20_000, ts=T0 + 1), ticker("100.0", ts=T0 + 2))
    assert qty_by_price(again)[99.0] == Decimal("0.203")
