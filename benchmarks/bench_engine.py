"""GridEngine ticker throughput with a full resting grid and the price moving inside it.

``engine_ticker_events_per_s`` is the engine as shipped; the baseline is the same engine
with the fast path off, recomputing the whole step on every ticker (a straightforward
implementation of the rules). Both run on the same events in the same process, so their
ratio is meaningful on a noisy machine. No event fills an order: the benchmark measures
the steps that change nothing, which are nearly all steps of a live grid.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from decimal import Decimal

from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.events import (
    CoinBalance,
    ExecutionEvent,
    OrderUpdateEvent,
    TickerEvent,
    WalletEvent,
)
from gridcore.intents import PlaceLimitIntent

SYMBOL = "BTCUSDT"
CENTRE_TICKS = 300_000  # 30,000.0 USDT at a 0.1 tick
EVENTS = 300_000
BASELINE_EVENTS = 30_000


def _ready_engine(fast_path: bool) -> GridEngine:
    """An engine holding a full, acknowledged legacy-default grid (40 levels, 0.2 %)."""
    engine = GridEngine(GridConfig(amount="x0.001"), "0.1", "0.001", "bench", symbol=SYMBOL,
                        fast_path=fast_path)
    engine.on_event(WalletEvent(symbol="", exchange_ts=0, local_ts=0,
                                coins=(CoinBalance("USDT", Decimal(100_000), Decimal(100_000)),)))
    intents = engine.on_event(_ticker(0, CENTRE_TICKS))
    for n, intent in enumerate(intents):
        assert isinstance(intent, PlaceLimitIntent)
        engine.on_event(OrderUpdateEvent(
            symbol=SYMBOL, exchange_ts=1, local_ts=1, order_id=f"o{n}",
            order_link_id=intent.client_order_id, side=intent.side, price=intent.price,
            qty=intent.qty, order_status="New", reduce_only=intent.reduce_only,
            position_idx=intent.position_idx, leaves_qty=intent.qty,
        ))
    # A fill at the centre makes every later step run the full update rule (3.4.3).
    engine.on_event(ExecutionEvent(
        symbol=SYMBOL, exchange_ts=2, local_ts=2, exec_id="x0", order_id="elsewhere",
        order_link_id="", side="Buy", exec_price=Decimal("30000.0"), exec_qty=Decimal("0.001"),
    ))
    assert engine.on_event(_ticker(3, CENTRE_TICKS)) == []
    return engine


def _ticker(ts: int, ticks: int) -> TickerEvent:
    return TickerEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, seq=ts,
                       last_price=Decimal(ticks) / 10)


def _moves(n: int, seed: int = 1) -> Iterator[TickerEvent]:
    """A mean-reverting walk within ±0.13 % of the centre, 100 ms apart.

    It crosses the centre level and the half-step eligibility thresholds of both
    neighbouring levels over and over, but never reaches their orders (±0.2 %): no fills.
    """
    rng = random.Random(seed)
    offset = 0
    for i in range(n):
        pull = 2 if offset > 300 else -2 if offset < -300 else 0
        offset = max(-400, min(400, offset + rng.randint(-12, 12) - pull))
        yield _ticker(10 + i * 100, CENTRE_TICKS + offset)


def _rate(fast_path: bool, events: list[TickerEvent]) -> tuple[float, int]:
    engine = _ready_engine(fast_path)
    on_event = engine.on_event
    started = time.perf_counter()
    emitted = 0
    for event in events:
        if on_event(event):
            emitted += 1
    elapsed = time.perf_counter() - started
    assert emitted == 0, "the benchmark path must not fill or re-place orders"
    return len(events) / elapsed, engine.steps


def run() -> Iterator[dict[str, object]]:
    events = list(_moves(EVENTS))
    fast, _ = _rate(True, events)
    baseline, _ = _rate(False, events[:BASELINE_EVENTS])
    context = {"grid_levels": 41, "resting_orders": 40, "events": len(events),
               "baseline_events": BASELINE_EVENTS}
    yield {"bench": "engine_ticker_events_per_s", "value": round(fast), "unit": "events/s",
           "baseline": round(baseline), "speedup": round(fast / baseline, 1), **context}
    yield {"bench": "engine_ticker_events_per_s_baseline", "value": round(baseline),
           "unit": "events/s", **context}
