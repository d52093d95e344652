"""Four legacy behaviours that decide when the legacy bot did what (issue: parity drift).

Each test is the smallest situation where the legacy bot and an engine that reads the
newest state decide differently (docs/strategy.md rules 3.5, 6.3, 6.4 and 7, and 3.4.4.4):

* the closing-order guard reads the position of the last position check;
* the position check's rules read the previous check's ratio (and the previous short
  margin), and ``long_koef`` reads the ratio the last check stored;
* the "same order" latch remembers four fills, checked per received message;
* off-grid orders are cancelled in ascending price order.
"""

from __future__ import annotations

from gridcore.events import BUY, SELL
from gridcore.intents import LONG, SHORT
from tests.gridcore.conftest import (
    T0,
    ack,
    cancels,
    feed,
    make_engine,
    order_event,
    places,
    position,
    raw_fill,
    ticker,
    wallet,
)

CHECK_MS = 63_000
LB, LS, SB, SS = (LONG, BUY), (LONG, SELL), (SHORT, BUY), (SHORT, SELL)


def closing_sells(intents) -> list[float]:
    return [float(i.price) for i in places(intents) if i.direction == LONG and i.reduce_only]


# ---------------------------------------------------------------- rule 3.5: the guard


def test_closing_guard_position_filled_after_check_waits_for_next_check() -> None:
    """A long that appears after the check gets no closing SELL until the next check."""
    engine = make_engine()
    feed(engine, position(1, 0, 0), position(2, 0, 0), wallet(1000))
    first = engine.on_event(ticker("100.0"))
    for intent in places(first):
        engine.on_event(ack(intent))
    assert closing_sells(first) == []
    engine.on_event(position(1, 1, 100, ts=T0 + 1_000))  # a BUY filled: long of 1
    assert closing_sells(engine.on_event(ticker("100.0", ts=T0 + 2_000))) == []
    later = engine.on_event(ticker("100.0", ts=T0 + CHECK_MS))
    assert closing_sells(later), "the check at 63 s reads the long and the SELLs go out"


def test_closing_guard_position_closed_after_check_still_allows_closing_orders() -> None:
    """The other way round: a long closed after the check still counts until the next one."""
    engine = make_engine(amount="0.1")
    feed(engine, position(1, 1, 100), position(2, 0, 0), wallet(1000))
    first = engine.on_event(ticker("100.0"))
    held = closing_sells(first)
    assert held, "a long of 1 gets closing SELLs"
    for intent in places(first):
        engine.on_event(ack(intent))
    engine.on_event(position(1, 0, 0, ts=T0 + 1_000))
    for intent in places(first):  # the exchange cancelled the grid (say, by hand)
        engine.on_event(ack(intent, status="Cancelled", ts=T0 + 1_000))
    again = engine.on_event(ticker("100.0", ts=T0 + 2_000))
    assert sorted(closing_sells(again)) == sorted(held)


def test_closing_guard_restored_engine_checks_the_positions_of_its_restart() -> None:
    """A restarted bot checks at its first step: an engine restored from a snapshot whose
    check read a long of 1, the long closed during the downtime, places no closing SELL
    (the exchange would refuse it) unless it is left to its old check."""
    engine = make_engine(amount="0.1")
    feed(engine, position(1, 1, 100), position(2, 0, 0), wallet(1000))
    first = engine.on_event(ticker("100.0"))
    assert closing_sells(first)
    for intent in places(first):
        engine.on_event(ack(intent))
    state = engine.save_state()
    for told in (False, True):
        restored = type(engine).restore(state)
        if told:
            restored.check_positions_at_next_step()
        feed(restored, position(1, 0, 0, ts=T0 + 5_000))
        for intent in places(first):  # the grid was cancelled during the downtime
            restored.on_event(ack(intent, status="Cancelled", ts=T0 + 5_000))
        after = closing_sells(restored.on_event(ticker("100.0", ts=T0 + 6_000)))
        assert (after == []) is told, f"told to check: {told}"


# ---------------------------------------------------------------- rule 6.3: the ratio


def _multipliers_after(*checks: tuple[float, float], close: str = "105.0") -> list[dict]:
    """Multipliers (those not 1.0) after each check, with (long, short) sizes per check."""
    engine = make_engine()
    result = []
    for n, (long_size, short_size) in enumerate(checks):
        ts = T0 + n * CHECK_MS
        feed(engine, position(1, long_size, 100 if long_size else 0, ts=ts),
             position(2, short_size, 100 if short_size else 0, ts=ts),
             wallet(1000, ts=ts), ticker(close, ts=ts))
        result.append({k: v for k, v in engine.multipliers.items() if v != 1.0})
    return result


def test_position_check_first_check_reads_ratio_one() -> None:
    """Ratio 1/6 < 0.2 would double long BUYs, but the first check reads 1.0."""
    assert _multipliers_after((1, 6)) == [{}]


def test_position_check_reads_the_previous_checks_ratio() -> None:
    """The ratio moves to 1/6 at the second check; its rules still read 1.0; the third
    reads 1/6 even though the positions are equal again."""
    assert _multipliers_after((1, 1), (1, 6), (1, 1)) == [{}, {}, {LB: 2.0}]


def test_position_check_empty_side_keeps_the_old_ratio() -> None:
    """A size of 0 leaves the stored ratio as it was (here 6, from the first check)."""
    after = _multipliers_after((6, 1), (6, 0), (1, 1), close="95.0")
    assert after == [{}, {}, {SS: 2.0}]


def test_long_koef_reads_the_ratio_of_the_last_check() -> None:
    """Ratio 2 at the check applies long_koef until the next check, whatever the positions
    do in between (a newest-position engine would stop applying it at once)."""
    engine = make_engine(long_koef=1.5)
    feed(engine, position(1, 2, 100), position(2, 1, 100), wallet(1000))
    first = engine.on_event(ticker("100.0"))
    assert {float(i.qty) for i in places(first) if not i.reduce_only} == {0.15}
    for intent in places(first):
        engine.on_event(ack(intent, status="Cancelled"))
    engine.on_event(position(2, 4, 100, ts=T0 + 1_000))  # ratio now 0.5
    again = engine.on_event(ticker("100.0", ts=T0 + 2_000))
    assert {float(i.qty) for i in places(again) if not i.reduce_only} == {0.15}


def test_position_check_long_margin_compares_with_previous_short_margin() -> None:
    """Rule 6.4: the long side's margins-equal test reads the short margin of the previous
    check (0.1), not this check's (0.2): equal, so the low-margin rule applies."""
    engine = make_engine(min_total_margin=1.0)
    feed(engine, position(1, 1, 100), position(2, 1, 100, liq=110), wallet(1000),
         ticker("100.0"))
    feed(engine, position(2, 2, 100, liq=110, ts=T0 + 1), ticker("100.0", ts=T0 + CHECK_MS))
    assert engine.multipliers[LS] == 0.5


def test_position_check_first_check_has_no_previous_short_margin() -> None:
    """At the first check there is no short margin yet: the long low-margin rule cannot
    apply, and the long margin counts as 0 for the short side's test."""
    engine = make_engine(min_total_margin=1.0)
    feed(engine, position(1, 1, 100), position(2, 1, 100), wallet(1000), ticker("100.0"))
    assert set(engine.multipliers.values()) == {1.0}


# ---------------------------------------------------------------- rule 7: four fills


def test_latch_keeps_four_fills_so_four_newer_fills_clear_it() -> None:
    """A doubled pair set the latch; four fills of the other group later it is out of the
    remembered four, and the legacy bot traded again (ten remembered would keep it set)."""
    engine = make_engine()
    feed(engine, raw_fill(side=BUY, price=99, order_id="a", ts=T0),
         raw_fill(side=BUY, price=99, order_id="b", ts=T0 + 1))
    assert engine.latch.is_set
    for n in range(3):
        engine.on_event(raw_fill(side=SELL, price=101 + n, order_id=f"s{n}", ts=T0 + 2 + n))
        assert engine.latch.is_set
    engine.on_event(raw_fill(side=SELL, price=110, order_id="s3", ts=T0 + 5))
    assert not engine.latch.is_set


def test_latch_checks_a_message_as_one_batch() -> None:
    """Fills received together are checked together with the four remembered before, so a
    doubled pair fourth and fifth in that list still counts; the same fills in two messages
    cut it out in between."""
    def latch_after(second_message_local_ts: int) -> bool:
        engine = make_engine()
        feed(engine,
             raw_fill(side=SELL, price=101, order_id="x", ts=T0 + 1),
             raw_fill(side=SELL, price=101, order_id="y", ts=T0 + 2),  # doubled pair
             raw_fill(side=BUY, price=95, order_id="p", ts=T0 + 3),
             raw_fill(side=BUY, price=96, order_id="q", ts=T0 + 4))
        assert engine.latch.is_set
        feed(engine, raw_fill(side=BUY, price=97, order_id="r", ts=T0 + 5, local_ts=T0 + 9),
             raw_fill(side=BUY, price=98, order_id="s", ts=T0 + 6,
                      local_ts=second_message_local_ts))
        return engine.latch.is_set

    assert latch_after(T0 + 9) is True
    assert latch_after(T0 + 10) is False


def test_last_filled_price_is_first_of_the_newest_fills_in_message_order() -> None:
    """Two fills of one message at one time: the legacy sort kept message order, so the
    first listed is the "last filled" one."""
    engine = make_engine()
    feed(engine, raw_fill(side=BUY, price=99, order_id="a", ts=T0 + 5, local_ts=T0 + 7),
         raw_fill(side=BUY, price=98, order_id="b", ts=T0 + 5, local_ts=T0 + 7))
    assert engine.last_filled_price == 99.0
    engine.on_event(raw_fill(side=BUY, price=97, order_id="c", ts=T0 + 4, local_ts=T0 + 8))
    assert engine.last_filled_price == 99.0, "an older execution time does not replace it"


# ---------------------------------------------------------------- rule 3.4.4.4: cancels


def test_off_grid_orders_are_cancelled_in_ascending_price_order() -> None:
    """Foreign orders off the grid, held in another order, are cancelled lowest first."""
    engine = make_engine()
    for price in ("93.33", "91.11", "92.22"):
        engine.on_event(order_event(side=BUY, price=price, qty="0.1"))
    cancelled = cancels(engine.on_event(ticker("100.0")))
    assert [c.reason for c in cancelled] == ["price is not a grid level"] * 3
    ids = [c.order_id for c in cancelled]
    prices = {o.order_id: o.price for o in engine.orders.all_orders()}
    assert [prices[i] for i in ids] == [91.11, 92.22, 93.33]
