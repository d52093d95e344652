"""Pairing live and simulated fills: per order, per key, nearest in time."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.validation.inputs import Fill
from daemons.validation.matching import aggregate, match
from gridcore.order_ids import OrderKey, encode
from tests.daemons.validation.scenario import live_side, model_side


def fill(ts: int, ticks: int, seq: int, *, side: str = "Buy", qty: str = "0.002",
         price: str | None = None) -> Fill:
    link = encode(OrderKey("s1", "long", side, ticks, seq))
    return Fill(ts=ts, price=Decimal(price or str(Decimal(ticks) / 10)), qty=Decimal(qty),
                side=side, order_link_id=link)


def test_match_partial_fills_of_one_order_aggregate_into_one_pair() -> None:
    live = [fill(1_000, 600_000, 1, qty="0.001"), fill(1_500, 600_000, 1, qty="0.001")]
    sim = [fill(1_100, 600_000, 7, qty="0.002")]
    result = match(live, sim)
    assert len(result.pairs) == 1 and not result.missed and not result.phantom
    pair = result.pairs[0]
    assert (pair.live.qty, pair.live.fills, pair.live.ts, pair.live.last_ts) == (
        Decimal("0.002"), 2, 1_000, 1_500)
    assert pair.drift_ms == 100


def test_match_partial_fills_vwap_price_counts_slippage() -> None:
    live = [fill(0, 600_000, 1, qty="0.001", price="60000.0"),
            fill(5, 600_000, 1, qty="0.001", price="60000.4")]
    result = match(live, [fill(0, 600_000, 2)])
    assert result.pairs[0].live.price == Decimal("60000.2")
    assert result.pairs[0].slippage_ticks(Decimal("0.1")) == 2.0


def test_match_other_key_never_pairs() -> None:
    result = match([fill(0, 600_000, 1)], [fill(0, 600_001, 1), fill(0, 600_000, 1, side="Sell")])
    assert not result.pairs and len(result.missed) == 1 and len(result.phantom) == 2


def test_match_fills_beyond_window_do_not_pair() -> None:
    result = match([fill(0, 600_000, 1)], [fill(10_001, 600_000, 1)], window_ms=10_000)
    assert not result.pairs and len(result.missed) == 1 and len(result.phantom) == 1
    assert len(match([fill(0, 600_000, 1)], [fill(10_000, 600_000, 1)],
                     window_ms=10_000).pairs) == 1


def test_match_nearest_first_pairs_the_closest_twin_not_the_nth() -> None:
    # live fills of one level at 0 s and 100 s; the replay missed the first one: pairing the
    # n-th with the n-th would pair 0 s with 101 s and leave 100 s missed.
    live = [fill(0, 600_000, 1), fill(100_000, 600_000, 2)]
    result = match(live, [fill(101_000, 600_000, 9)])
    assert [(p.live.ts, p.sim.ts) for p in result.pairs] == [(100_000, 101_000)]
    assert [o.ts for o in result.missed] == [0]


def test_match_foreign_and_funding_fills_are_counted_not_paired() -> None:
    foreign = Fill(ts=0, price=Decimal(1), qty=Decimal(1), side="Buy", order_link_id="manual")
    funding = replace(foreign, exec_type="Funding", order_link_id="")
    result = match([foreign, funding, fill(0, 600_000, 1)], [fill(0, 600_000, 1)])
    assert result.foreign_live == 1 and len(result.pairs) == 1
    assert aggregate([funding])[0] == []


def test_match_real_replays_dropping_one_live_fill_keeps_every_other_pair() -> None:
    live, sim = live_side().fills, model_side("CONSERVATIVE").fills
    base = {(p.live.order_link_id, p.sim.order_link_id, p.sim.ts) for p in match(live, sim).pairs}
    orders, _ = aggregate(live)
    for dropped in orders[:: max(1, len(orders) // 40)]:
        kept = [f for f in live if f.order_link_id != dropped.order_link_id]
        pairs = {(p.live.order_link_id, p.sim.order_link_id, p.sim.ts)
                 for p in match(kept, sim).pairs}
        assert pairs == {p for p in base if p[0] != dropped.order_link_id}


@st.composite
def level_histories(draw: st.DrawFn) -> tuple[list[Fill], list[Fill]]:
    """Live and simulated fills of a few grid levels: each level refills at least a
    minute apart, a twin lands within 5 s of its live fill, some fills have no twin."""
    live: list[Fill] = []
    sim: list[Fill] = []
    seq = 0
    for level in range(draw(st.integers(1, 4))):
        t = draw(st.integers(0, 10_000))
        for _ in range(draw(st.integers(1, 8))):
            t += draw(st.integers(60_000, 600_000))
            seq += 1
            has_live, has_sim = draw(st.sampled_from([(True, True)] * 4 + [(True, False),
                                                                           (False, True)]))
            if has_live:
                live.append(fill(t, 600_000 + level, seq))
            if has_sim:
                sim.append(fill(t + draw(st.integers(-5_000, 5_000)), 600_000 + level, seq))
    return live, sim


@settings(max_examples=200, deadline=None)
@given(level_histories(), st.data())
def test_match_one_missing_fill_never_shifts_other_pairs(
    histories: tuple[list[Fill], list[Fill]], data: st.DataObject,
) -> None:
    live, sim = histories
    if not live:
        return
    dropped = data.draw(st.sampled_from(live))
    before = {(p.live.order_link_id, p.sim.order_link_id) for p in match(live, sim).pairs}
    assert all((link, link) in before for link in {f.order_link_id for f in live}
               & {f.order_link_id for f in sim})  # every twin pairs
    after = {(p.live.order_link_id, p.sim.order_link_id)
             for p in match([f for f in live if f is not dropped], sim).pairs}
    twins = {p for p in before if p[0] == p[1]}  # the generator's twins share the sequence
    assert {p for p in twins if p[0] != dropped.order_link_id} <= after
