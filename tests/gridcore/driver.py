"""Test driver: market events through a SimBroker and a GridEngine, recording every intent.

Unlike :func:`gridcore.sim.replay.replay` it can hold the broker's answers back for a few
events (as a slow exchange would) and swap the engine for a restored copy mid-stream.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterable, Iterator
from decimal import Decimal

from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.events import TickerEvent
from gridcore.sim.broker import SimBroker
from gridcore.sim.fills import OptimisticFill

SYMBOL = "BTCUSDT"


def random_walk(seed: int, n: int, start: float = 30_000.0, tick: float = 0.1,
                step_ms: int = 1_000, vol: float = 0.0015) -> Iterator[TickerEvent]:
    """Ticker events along a seeded random walk with occasional jumps, on the tick grid."""
    rng = random.Random(seed)
    price = start
    for i in range(n):
        shock = rng.gauss(0, vol) + (rng.choice((-1, 1)) * 0.02 if rng.random() < 0.003 else 0)
        price = max(tick * 10, price * (1 + shock))
        ticks = round(price / tick)
        ts = 1_700_000_000_000 + i * step_ms
        yield TickerEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, seq=i,
                          last_price=Decimal(ticks) * Decimal(repr(tick)))


def new_engine(config: GridConfig, *, fast_path: bool = True) -> GridEngine:
    return GridEngine(config, "0.1", "0.001", "s1", symbol=SYMBOL, fast_path=fast_path)


def drive(
    engine: GridEngine,
    events: Iterable[TickerEvent],
    *,
    ack_delay_events: int = 0,
    restore_at: int | None = None,
    latency_ms: int = 0,
) -> tuple[list[list[object]], GridEngine, SimBroker]:
    """Run the stream; return the intents of every event, the final engine and broker."""
    broker = SimBroker(SYMBOL, OptimisticFill(), starting_balance=Decimal(10_000),
                       latency_ms=latency_ms)
    held: deque[tuple[int, list[object]]] = deque()
    log: list[list[object]] = []
    for index, event in enumerate(events):
        if index == restore_at:
            engine = GridEngine.restore(json.loads(json.dumps(engine.save_state())),
                                        fast_path=engine.fast_path)
        if index == 0:
            for answer in broker.initial_events(event.exchange_ts):
                engine.on_event(answer)
        while held and held[0][0] <= index:
            for answer in held.popleft()[1]:
                engine.on_event(answer)
        for answer in broker.advance(event.exchange_ts):
            engine.on_event(answer)
        for answer in broker.on_market(event):
            engine.on_event(answer)
        intents = engine.on_event(event)
        log.append(intents)
        answers = broker.submit(intents, event.exchange_ts)
        if ack_delay_events:
            held.append((index + ack_delay_events, answers))
        else:
            for answer in answers:
                engine.on_event(answer)
    return log, engine, broker
