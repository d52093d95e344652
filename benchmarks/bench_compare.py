"""Comparison speed: a one-day live run with 10,000 filled orders against 4 fill models.

The market is a generated BTCUSDT-like day (1.5 million trades, a ticker every 100 ms).
The live fills sit on grid levels (0.02 % apart) at the day's own prices, a fifth of them
in two or three partial fills; each model's replay repeats them with a drift of a few
hundred ms, misses 1 to 5 % of them and adds 0.5 to 3 % phantom fills, and both sides
carry a placement decision per order, diverging late in the day. ``compare_run_s`` times
:func:`daemons.validation.compare.compare_run` on all of it (matching, books, metrics,
reasons, divergence, equity and position series). The baseline in the same process is
the replay of the same day with the 4 fill models (what producing the comparison's input
costs), so ``ratio`` says how much the comparison adds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import numpy as np

LIVE_ORDERS = 10_000
TRADES = 1_500_000
MODELS = {"OPTIMISTIC": (0.01, 0.03), "CONSERVATIVE": (0.02, 0.01),
          "PESSIMISTIC": (0.05, 0.005), "QUEUE": (0.015, 0.01)}  # (missed, phantom) rates
TICK = Decimal("0.1")


def _orders(tape, rng: np.random.Generator, n: int):  # noqa: ANN001, ANN202
    """``n`` grid orders at the day's prices: (ts, ticks, side, direction, qty lots)."""
    trades = np.flatnonzero(tape.kind == 1)
    rows = np.sort(rng.choice(trades, n, replace=False))
    step = tape.price[rows] * 0.0002 / 0.1
    ticks = (np.round(tape.price[rows] / 0.1 / step) * step).astype(np.int64)
    side = rng.random(n) < 0.5
    long_ = rng.random(n) < 0.5
    lots = rng.choice([2, 4, 6], n)
    return tape.ts[rows], ticks, side, long_, lots


def _fills(ts, ticks, side, long_, lots, seqs, rng: np.random.Generator):  # noqa: ANN001, ANN202
    from daemons.validation.inputs import Fill
    from gridcore.order_ids import OrderKey, encode

    for t, k, buy, is_long, q, seq in zip(ts.tolist(), ticks.tolist(), side.tolist(),
                                          long_.tolist(), lots.tolist(), seqs, strict=True):
        link = encode(OrderKey("bench", "long" if is_long else "short",
                               "Buy" if buy else "Sell", k, seq))
        parts = [q] if rng.random() > 0.2 or q < 4 else [q // 2, q - q // 2]
        for n, part in enumerate(parts):
            yield Fill(ts=t + 40 * n, price=TICK * k, qty=Decimal(part) / 1000,
                       side="Buy" if buy else "Sell", order_link_id=link,
                       fee_rate=Decimal("0.0002"), position_idx=1 if is_long else 2)


def _decisions(fills, diverge_at: int) -> Iterator:  # noqa: ANN001
    from daemons.validation.inputs import Decision

    seen: dict[str, Decision] = {}
    for fill in fills:
        if fill.order_link_id not in seen:
            seen[fill.order_link_id] = Decision(
                seq=len(seen) + 1, ts=fill.ts - 30_000, trigger_kind="ticker", trigger={},
                intent_kind="place", order_link_id=fill.order_link_id, side=fill.side,
                price=fill.price + (TICK if len(seen) == diverge_at else 0), qty=fill.qty)
    return iter(sorted(seen.values(), key=lambda d: d.ts))


def build_input(trades: int = TRADES, live_orders: int = LIVE_ORDERS):  # noqa: ANN201
    """The day, the live side and the four replays."""
    from daemons.backtest.sources import generated_day
    from daemons.validation.inputs import ComparisonInput, RunSide
    from daemons.validation.latency import LatencyStats

    tape = generated_day(seed=5, trades=trades)
    rng = np.random.default_rng(11)
    ts, ticks, side, long_, lots = _orders(tape, rng, live_orders)
    seqs = list(range(live_orders))
    live = list(_fills(ts, ticks, side, long_, lots, seqs, rng))
    replays = []
    for name, (missed, phantom) in MODELS.items():
        keep = rng.random(live_orders) >= missed
        drift = rng.exponential(300, live_orders).astype(np.int64)
        extra = int(live_orders * phantom)
        p_ts, p_ticks, p_side, p_long, p_lots = _orders(tape, rng, extra)
        fills = list(_fills(ts[keep] + drift[keep], ticks[keep], side[keep], long_[keep],
                            lots[keep], [s for s, k in zip(seqs, keep, strict=True) if k], rng))
        fills += _fills(p_ts, p_ticks, p_side, p_long, p_lots,
                        range(live_orders, live_orders + extra), rng)
        fills.sort(key=lambda f: f.ts)
        replays.append(RunSide(name, fills, list(_decisions(fills, live_orders // 2))))
    return ComparisonInput(
        run_id="bench", symbol="BTCUSDT", tick_size=TICK, start_ms=int(tape.ts[0]),
        end_ms=int(tape.ts[-1]), live=RunSide("live", live, list(_decisions(live, -1))),
        replays=replays, tape=tape, latency=LatencyStats.fixed(120))


def _replay_seconds(tape) -> float:  # noqa: ANN001
    from daemons.backtest.runner import BacktestSpec, chunked, run_backtest
    from gridcore.config import GridConfig

    started = time.perf_counter()
    for model in MODELS:
        spec = BacktestSpec(config=GridConfig(amount="x0.001", grid_step_pct=0.02),
                            fill_model=model, latency_ms=120, queue_ahead=0.3,
                            starting_balance=Decimal(100_000))
        run_backtest(spec, chunked(tape))
    return time.perf_counter() - started


def run(trades: int = TRADES, live_orders: int = LIVE_ORDERS) -> Iterator[dict[str, object]]:
    from daemons.validation.compare import compare_run

    inp = build_input(trades, live_orders)
    started = time.perf_counter()
    comparison = compare_run(inp)
    elapsed = time.perf_counter() - started
    baseline = _replay_seconds(inp.tape)
    yield {"bench": "compare_run_s", "value": round(elapsed, 3), "unit": "s", "target": 10,
           "live_orders": live_orders, "live_fills": len(inp.live.fills),
           "models": len(inp.replays), "events": len(inp.tape),
           "pairs": sum(len(m.matching.pairs) for m in comparison.models),
           "explained": sum(len(m.explained) for m in comparison.models),
           "baseline": round(baseline, 3), "baseline_what": "replay of the day, 4 models",
           "ratio": round(elapsed / baseline, 3)}
