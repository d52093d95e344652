"""The comparison on real replays of a generated day, with faults injected: verdicts,
reasons, the first diverging decision."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np

from daemons.validation.compare import compare_run
from daemons.validation.divergence import first_divergence
from daemons.validation.inputs import CaptureGap, Decision, RunSide
from daemons.validation.latency import LatencyStats, measure_latency
from daemons.validation.matching import aggregate
from daemons.validation.reasons import Kind, Reason
from gridcore.config import GridConfig
from tests.daemons.validation.scenario import (
    CONFIG,
    TICK,
    Replayed,
    comparison_input,
    day,
    live_side,
    model_side,
    replay_side,
)


def metric(model, name: str):  # noqa: ANN001, ANN201 - test helper
    return next(m for m in model.metrics if m.name == name)


def test_compare_live_against_itself_passes_every_target() -> None:
    live = live_side()
    comparison = compare_run(comparison_input(replays={"SAME": live}))
    model = comparison.models[0]
    assert model.passed and not model.explained and model.divergence is None
    assert metric(model, "trade count match").value == 1.0
    assert metric(model, "timing drift").value == 0.0
    assert metric(model, "PnL delta").value == 0.0
    assert comparison.live_pnl == model.pnl != 0


def test_compare_real_models_pessimistic_misses_fills_the_queue_model_makes() -> None:
    comparison = compare_run(comparison_input())
    by_model = {m.model: m for m in comparison.models}
    assert len(by_model["PESSIMISTIC"].matching.missed) > len(by_model["QUEUE"].matching.missed)
    for model in comparison.models:
        explained = {(e.kind, e.order.order_link_id) for e in model.explained}
        assert {(Kind.MISSED, o.order_link_id) for o in model.matching.missed} <= explained
        assert {(Kind.PHANTOM, o.order_link_id) for o in model.matching.phantom} <= explained


def test_compare_dropped_replay_fill_is_missed_with_a_reason_others_pair() -> None:
    sim = model_side("QUEUE")
    orders, _ = aggregate(sim.fills)
    dropped = orders[len(orders) // 2]
    faulty = replace(sim, fills=tuple(f for f in sim.fills
                                      if f.order_link_id != dropped.order_link_id))
    model = compare_run(comparison_input(replays={"QUEUE": faulty})).models[0]
    clean = compare_run(comparison_input(replays={"QUEUE": sim})).models[0]
    missed = [e for e in model.explained if e.kind is Kind.MISSED]
    assert [e.order.order_link_id for e in missed] == [dropped.order_link_id]
    # the replay's decisions still hold the order, never cancelled, and the market reached
    # it: the queue (touched only) or a divergence of the books (traded through)
    assert missed[0].reason in (Reason.QUEUE, Reason.DIVERGENCE)
    assert len(model.matching.pairs) == len(clean.matching.pairs) - 1


def test_compare_capture_gap_over_missing_fills_is_data_gap() -> None:
    sim = model_side("QUEUE")
    orders, _ = aggregate(sim.fills)
    start, end = orders[100].ts, orders[110].ts
    faulty = replace(sim, fills=tuple(f for f in sim.fills if not start <= f.ts <= end))
    gap = CaptureGap(start - 10, end + 10, "publicTrade.BTCUSDT", "reconnect")
    model = compare_run(comparison_input(replays={"QUEUE": faulty}, gaps=[gap])).models[0]
    missed = [e for e in model.explained if e.kind is Kind.MISSED]
    assert len(missed) >= 11
    assert all(e.reason is Reason.DATA_GAP for e in missed)
    assert "publicTrade.BTCUSDT" in missed[0].detail


def test_compare_shifted_live_prices_fail_slippage_as_far_off() -> None:
    live = live_side()
    shifted = replace(live, fills=tuple(
        replace(f, price=f.price + 3 * TICK) if n % 2 == 0 else f
        for n, f in enumerate(live.fills)))
    model = compare_run(comparison_input(live=shifted, replays={"QUEUE": model_side("QUEUE")}))
    queue = model.models[0]
    slippage = metric(queue, "price slippage")
    assert 1.0 < slippage.value < 2.0 and slippage.passed  # about half the orders, 3 ticks
    far = [e for e in queue.explained if e.kind is Kind.FAR_OFF and e.twin is not None
           and e.order.ts == e.twin.ts]
    assert far and all("ticks from its twin" in e.detail or e.reason is Reason.LATENCY
                       for e in far)


def test_compare_changed_grid_step_diverges_at_the_first_grid() -> None:
    wider = replay_side(day(), "QUEUE", config=GridConfig(**{**CONFIG.to_mapping(),
                                                             "grid_step_pct": 0.03}))
    model = compare_run(comparison_input(replays={"WIDER": wider})).models[0]
    divergence = model.divergence
    assert divergence is not None and divergence.live is not None
    assert divergence.replay is not None and divergence.live.price != divergence.replay.price
    live_decisions = live_side().decisions
    assert divergence.index == next(i for i, (a, b) in enumerate(
        zip(live_decisions, wider.decisions, strict=False)) if a.price != b.price)
    assert divergence.live.trigger_kind == "ticker" and divergence.live.trigger["last_price"]
    assert any(e.reason is Reason.DIVERGENCE for e in model.explained)


def test_divergence_changed_decision_is_found_at_its_index() -> None:
    decisions = list(live_side().decisions)
    k = 57
    changed = decisions[:k] + [replace(decisions[k], qty=decisions[k].qty + Decimal("0.001"))
                               if decisions[k].qty is not None else
                               replace(decisions[k], intent_kind="amend")] + decisions[k + 1:]
    found = first_divergence(decisions, changed)
    assert found is not None and found.index == k and found.live is decisions[k]
    assert first_divergence(decisions, decisions) is None
    shorter = first_divergence(decisions, decisions[:-1])
    assert shorter is not None and shorter.replay is None


def test_divergence_ignores_sequence_numbers_of_ids() -> None:
    decision = next(d for d in live_side().decisions if d.intent_kind == "place")
    renamed = replace(decision, order_link_id=decision.order_link_id.rsplit("-", 1)[0] + "-zz")
    assert first_divergence([decision], [renamed]) is None


def _tiny_input(trades: list[tuple[int, float]], live_fill_ts: int | None,
                sim_fill_ts: int | None, *, place_ts: int = 1_000):
    """One BUY order at 100.0 placed on both sides; the market given; fills as given."""
    from daemons.validation.inputs import ComparisonInput, Fill
    from gridcore.order_ids import OrderKey, encode
    from gridcore.sim.tape import TRADE, MarketTape

    ts = np.array([t for t, _ in trades], dtype=np.int64)
    tape = MarketTape.from_rows("BTCUSDT", ts=ts, kind=np.full(len(ts), TRADE),
                                price=np.array([p for _, p in trades]),
                                size=np.full(len(ts), 0.5))
    link = encode(OrderKey("s1", "long", "Buy", 1000, 1))
    decision = Decision(seq=1, ts=place_ts, trigger_kind="ticker", trigger={},
                        intent_kind="place", order_link_id=link, side="Buy",
                        price=Decimal("100.0"), qty=Decimal("0.002"))

    def side(name: str, at: int | None) -> RunSide:
        fills = [] if at is None else [Fill(ts=at, price=Decimal("100.0"), qty=Decimal("0.002"),
                                            side="Buy", order_link_id=link)]
        return RunSide(name, fills, [decision])

    return ComparisonInput(run_id="r", symbol="BTCUSDT", tick_size=TICK, start_ms=0,
                           end_ms=100_000, live=side("live", live_fill_ts),
                           replays=[side("CONSERVATIVE", sim_fill_ts)], tape=tape,
                           latency=LatencyStats.fixed(50))


def test_reasons_touch_without_trade_through_is_queue() -> None:
    inp = _tiny_input([(500, 101.0), (5_000, 100.0), (6_000, 100.5)], 5_000, None)
    (explained,) = compare_run(inp).models[0].explained
    assert (explained.kind, explained.reason) == (Kind.MISSED, Reason.QUEUE)


def test_reasons_trade_through_while_resting_is_divergence() -> None:
    inp = _tiny_input([(500, 101.0), (5_000, 99.8), (6_000, 100.5)], None, 5_000)
    (explained,) = compare_run(inp).models[0].explained
    assert (explained.kind, explained.reason) == (Kind.PHANTOM, Reason.DIVERGENCE)


def test_reasons_fill_within_latency_of_placement_is_latency() -> None:
    inp = _tiny_input([(500, 101.0), (1_030, 99.0)], 1_030, None)
    (explained,) = compare_run(inp).models[0].explained
    assert explained.reason is Reason.LATENCY


def test_reasons_order_never_placed_on_the_other_side_is_divergence() -> None:
    # the replay placed its order one tick higher (gs1-LBrt: 1001 ticks, not 1000)
    inp = _tiny_input([(500, 101.0), (5_000, 100.0)], 5_000, None)
    replay = replace(inp.replays[0], decisions=[])
    inp = replace(inp, replays=[replace(replay, decisions=[Decision(
        seq=1, ts=1_000, trigger_kind="ticker", trigger={}, intent_kind="place",
        order_link_id="gs1-LBrt-2", side="Buy", price=Decimal("100.1"),
        qty=Decimal("0.002"))])])
    (explained,) = compare_run(inp).models[0].explained
    assert explained.reason is Reason.DIVERGENCE and "no order" in explained.detail


def test_reasons_fill_right_after_its_placement_is_divergence_when_the_other_side_had_none(
        ) -> None:
    """Filled 30 ms after its own placement (within the 50 ms latency), but the replay's
    engine placed another level: no latency can explain it, its engine decided otherwise."""
    inp = _tiny_input([(500, 101.0), (1_030, 99.0)], 1_030, None)
    inp = replace(inp, replays=[replace(inp.replays[0], decisions=[Decision(
        seq=1, ts=1_000, trigger_kind="ticker", trigger={}, intent_kind="place",
        order_link_id="gs1-LBrt-2", side="Buy", price=Decimal("100.1"),
        qty=Decimal("0.002"))])])
    (explained,) = compare_run(inp).models[0].explained
    assert explained.reason is Reason.DIVERGENCE


def test_reasons_far_off_pair_waiting_on_a_touched_price_is_queue() -> None:
    inp = _tiny_input([(500, 101.0), (5_000, 100.0), (9_000, 100.0)], 5_000, 9_000)
    model = compare_run(inp).models[0]
    (explained,) = model.explained
    assert (explained.kind, explained.reason) == (Kind.FAR_OFF, Reason.QUEUE)
    assert metric(model, "timing drift").value == 4_000 and not model.passed


def test_latency_measured_from_acks_as_percentiles() -> None:
    sent = {f"o{i}": 1_000 * i for i in range(100)}
    acked = {f"o{i}": 1_000 * i + 10 + i for i in range(100)}
    stats = measure_latency(sent, {**acked, "other": 5})
    assert (stats.count, stats.p50_ms, stats.p99_ms, stats.max_ms) == (100, 60, 109, 109)
    assert measure_latency({}, {}).bound_ms == 0


def test_books_replay_pnl_matches_the_simulated_broker() -> None:
    from daemons.backtest.runner import BacktestSpec, run_backtest
    from tests.daemons.validation.scenario import FEE

    spec = BacktestSpec(config=CONFIG, fill_model="CONSERVATIVE", latency_ms=120,
                        maker_fee_rate=FEE, starting_balance=Decimal(100_000),
                        strategy_id="s1")
    run = run_backtest(spec, day())
    comparison = compare_run(comparison_input(replays={"CONSERVATIVE": Replayed(
        tuple(model_side("CONSERVATIVE").fills), (), ())}))
    books = comparison.books["CONSERVATIVE"]
    assert books.total("fees") == run.broker.fees_paid
    assert books.total("funding") == run.broker.funding_paid
    assert books.realised[1] + books.realised[2] == sum(f.realised_pnl for f in run.broker.fills)
    end_equity = run.broker.equity() - spec.starting_balance
    assert abs(books.pnl(run.broker.last_price) - end_equity) < Decimal("1e-9")
