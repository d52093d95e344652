"""gridcore.positions: hedge-mode position arithmetic (average entry, PnL, fees, funding)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcore.events import BUY, SELL
from gridcore.positions import (
    LONG_IDX,
    SHORT_IDX,
    PositionBook,
    fee,
    funding_payment,
    opening_side,
)

D = Decimal


def book(idx: int, *fills: tuple[str, str, str]) -> PositionBook:
    """A position after fills given as (side, qty, price)."""
    result = PositionBook(idx)
    for side, qty, price in fills:
        result.apply_fill(side, D(qty), D(price))
    return result


def test_position_opening_fills_average_the_entry_by_quantity() -> None:
    """Long: 1 @ 100 then 3 @ 110 -> size 4, entry (100 + 330) / 4 = 107.5."""
    long = book(LONG_IDX, (BUY, "1", "100"), (BUY, "3", "110"))
    assert (long.size, long.avg_entry) == (D(4), D("107.5"))


def test_position_short_opens_with_sell_and_averages_entry() -> None:
    """Short: SELL opens; 2 @ 100 and 2 @ 90 -> entry 95."""
    short = book(SHORT_IDX, (SELL, "2", "100"), (SELL, "2", "90"))
    assert (short.size, short.avg_entry) == (D(4), D(95))


@pytest.mark.parametrize(("idx", "open_side", "close_side", "close_price", "pnl"), [
    (LONG_IDX, BUY, SELL, "110", "5.0"),     # long: (110 - 100) × 0.5
    (LONG_IDX, BUY, SELL, "90", "-5.0"),     # long loss
    (SHORT_IDX, SELL, BUY, "90", "5.0"),     # short: (100 - 90) × 0.5
    (SHORT_IDX, SELL, BUY, "110", "-5.0"),   # short loss
])
def test_position_reducing_fill_realises_pnl_and_keeps_entry(idx, open_side, close_side,
                                                             close_price, pnl) -> None:
    """Reduce 0.5 of 2 @ 100: realised = ±(close - entry) × 0.5; entry unchanged."""
    position = book(idx, (open_side, "2", "100"))
    outcome = position.apply_fill(close_side, D("0.5"), D(close_price))
    assert (outcome.closed_qty, outcome.realised_pnl) == (D("0.5"), D(pnl))
    assert (position.size, position.avg_entry, position.realised_pnl) == (D("1.5"), D(100),
                                                                          D(pnl))


def test_position_closing_more_than_size_closes_only_size_and_resets_entry() -> None:
    """Hedge mode never flips through zero: closing 3 of 2 closes 2; entry back to 0."""
    long = book(LONG_IDX, (BUY, "2", "100"))
    outcome = long.apply_fill(SELL, D(3), D(101))
    assert (outcome.closed_qty, outcome.realised_pnl) == (D(2), D(2))
    assert (long.size, long.avg_entry) == (D(0), D(0))


def test_position_realised_pnl_accumulates_over_reductions() -> None:
    """Two reductions of a long 2 @ 100: +1 @ 105 and -0.5 @ 98 -> 5 - 1 = 4."""
    long = book(LONG_IDX, (BUY, "2", "100"), (SELL, "1", "105"), (SELL, "0.5", "98"))
    assert long.realised_pnl == D(4)


@pytest.mark.parametrize(("idx", "side", "mark", "expected"), [
    (LONG_IDX, BUY, "105", "10"), (LONG_IDX, BUY, "95", "-10"),
    (SHORT_IDX, SELL, "105", "-10"), (SHORT_IDX, SELL, "95", "10"),
])
def test_position_unrealised_pnl_at_mark(idx, side, mark, expected) -> None:
    """Unrealised PnL of 2 @ 100 at the mark: long (mark - entry) × 2, short the reverse."""
    assert book(idx, (side, "2", "100")).unrealised_pnl(D(mark)) == D(expected)


def test_position_empty_has_no_unrealised_pnl_and_no_value() -> None:
    """An empty position has no open PnL and no notional."""
    empty = PositionBook(LONG_IDX)
    assert (empty.unrealised_pnl(D(100)), empty.position_value(D(100))) == (D(0), D(0))


def test_position_value_is_size_times_mark() -> None:
    assert book(SHORT_IDX, (SELL, "2", "100")).position_value(D("101.5")) == D(203)


@pytest.mark.parametrize("qty", ["0", "-1"])
def test_position_fill_non_positive_qty_is_refused(qty: str) -> None:
    with pytest.raises(ValueError, match="qty"):
        PositionBook(LONG_IDX).apply_fill(BUY, D(qty), D(100))


def test_fee_is_notional_times_rate_and_negative_rate_is_rebate() -> None:
    """docs/validation.md: every fill pays the maker rate on its notional (0.02 % default)."""
    assert fee(D(100), D(2), D("0.0002")) == D("0.04")
    assert fee(D(100), D(2), D("-0.0001")) == D("-0.02")


@pytest.mark.parametrize(("idx", "rate", "paid"), [
    (LONG_IDX, "0.0001", "0.02"), (SHORT_IDX, "0.0001", "-0.02"),
    (LONG_IDX, "-0.0001", "-0.02"), (SHORT_IDX, "-0.0001", "0.02"),
])
def test_funding_long_pays_positive_rate_short_receives(idx, rate, paid) -> None:
    """docs/validation.md: funding = mark × size × rate; longs pay a positive rate."""
    assert funding_payment(D(100), D(2), D(rate), idx) == D(paid)


def test_opening_side_is_buy_for_long_and_sell_for_short() -> None:
    assert (opening_side(LONG_IDX), opening_side(SHORT_IDX)) == (BUY, SELL)
