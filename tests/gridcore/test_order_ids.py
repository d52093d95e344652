"""Client order ids (docs/validation.md, "Order identity"): deterministic, at most 36 characters of
``[A-Za-z0-9_-]``, and decodable back to (strategy, direction, side, ticks, sequence)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcore import order_ids
from gridcore.events import BUY, SELL
from gridcore.intents import LONG, SHORT
from gridcore.order_ids import MAX_LENGTH, OrderKey, decode, encode

ALLOWED = re.compile(r"^[A-Za-z0-9_-]+$")
STRATEGY_IDS = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                       min_size=1, max_size=12)
#: 36**7 - 1: the largest tick count (7 base-36 digits) that still fits next to the worst
#: strategy id and sequence. With a 0.0001 tick that is 7.8 million USDT, far beyond a price.
MAX_TICKS = 36**7 - 1
MAX_SEQUENCE = 36**12 - 1


def _keys(max_ticks: int = MAX_TICKS, max_sequence: int = 36**6) -> st.SearchStrategy[OrderKey]:
    return st.builds(OrderKey, strategy_id=STRATEGY_IDS, direction=st.sampled_from([LONG, SHORT]),
                     side=st.sampled_from([BUY, SELL]),
                     price_ticks=st.integers(0, max_ticks),
                     sequence=st.integers(0, max_sequence))


@given(key=_keys())
def test_order_id_round_trip_gives_the_key_back(key: OrderKey) -> None:
    text = encode(key)
    assert decode(text) == key
    assert encode(key) == text, "deterministic"
    assert len(text) <= MAX_LENGTH and ALLOWED.match(text)


def test_order_id_worst_case_fits_36_characters() -> None:
    """12-character strategy, 7 tick digits and 12 sequence digits: exactly 36."""
    key = OrderKey("Z" * 12, SHORT, SELL, MAX_TICKS, MAX_SEQUENCE)
    text = encode(key)
    assert len(text) == MAX_LENGTH and ALLOWED.match(text)
    assert decode(text) == key


def test_order_id_too_long_is_refused_not_truncated() -> None:
    with pytest.raises(ValueError, match="longer than 36"):
        encode(OrderKey("Z" * 12, SHORT, SELL, MAX_TICKS + 1, MAX_SEQUENCE))


@given(key=_keys(), other=_keys())
def test_order_id_differs_when_the_key_differs(key: OrderKey, other: OrderKey) -> None:
    assert (encode(key) == encode(other)) == (key == other)


@pytest.mark.parametrize("foreign", [
    "", "web-order-1", "gs1-LB1", "gs1-XB1-0", "gs1-LX1-0", "g-LB1-0", "gs1-LB-0",
    "gs1-LB1-", "gs1-LBA-0", "gs1_LB1-0", "gabcdefghijklm-LB1-0", "gs1-LB1-0-extra",
    "xs1-LB1-0", "gs1-LB1-0 ", "gs!-LB1-0", "gs1-LB1-0\n", "gs1-LB01-0", "gs1-LB1-00",
    "gZZZZZZZZZZZZ-SS" + "z" * 8 + "-" + "z" * 12,
])
def test_order_id_foreign_or_malformed_decodes_to_none(foreign: str) -> None:
    assert decode(foreign) is None


@pytest.mark.parametrize("strategy_id", ["", "a" * 13, "a-b", "a_b", "é", "a b"])
def test_order_id_invalid_strategy_id_is_refused(strategy_id: str) -> None:
    with pytest.raises(ValueError, match="strategy_id"):
        order_ids.validate_strategy_id(strategy_id)
    with pytest.raises(ValueError, match="strategy_id"):
        encode(OrderKey(strategy_id, LONG, BUY, 1, 0))


@pytest.mark.parametrize(("ticks", "sequence"), [(-1, 0), (0, -1)])
def test_order_id_negative_number_is_refused(ticks: int, sequence: int) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        encode(OrderKey("s1", LONG, BUY, ticks, sequence))


def test_order_id_match_key_leaves_out_the_sequence() -> None:
    """Live and simulated twins pair on everything but the sequence (docs/validation.md)."""
    first, again = OrderKey("s1", LONG, BUY, 990, 0), OrderKey("s1", LONG, BUY, 990, 7)
    assert first.match_key == again.match_key == ("s1", LONG, BUY, 990)
