"""Backtest replay speed and memory on a generated BTCUSDT-like day.

The day has 1.5 million calibrated trades spread over 24 h, a ticker every 100 ms
(864,000) and three funding rows. Each fill model replays the whole day through the
vectorised replay; the per-event reference replay (the engine with its fast path off, every
event stepped) runs on the first 200,000 events of the same tape in the same process, so
the ratio is meaningful. The work runs in a child process so that the peak RSS reported
is the replay's own, not the benchmark runner's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal

REFERENCE_EVENTS = 200_000
CHUNK = 262_144


def _engine_and_broker(model: str, fast_path: bool = True):
    from gridcore.config import GridConfig
    from gridcore.engine import GridEngine
    from gridcore.sim.broker import SimBroker
    from gridcore.sim.fills import make_fill_model

    engine = GridEngine(GridConfig(amount="x0.001"), "0.1", "0.001", "bench",
                        symbol="BTCUSDT", fast_path=fast_path)
    broker = SimBroker("BTCUSDT", make_fill_model(model, queue_ahead=0.5),
                       starting_balance=Decimal(100_000), latency_ms=50)
    return engine, broker


def _child() -> None:
    from daemons.backtest.sources import generated_day
    from gridcore.sim.fast_replay import replay_tape
    from gridcore.sim.fills import FillModelName
    from gridcore.sim.replay import replay

    tape = generated_day(seed=1)
    events = len(tape)
    context = {"events": events, "trades": int((tape.kind == 1).sum()),
               "tickers": int((tape.kind == 2).sum())}
    for model in FillModelName:
        engine, broker = _engine_and_broker(model.value)
        chunks = [tape.window(k, min(events, k + CHUNK)) for k in range(0, events, CHUNK)]
        started = time.perf_counter()
        result = replay_tape(chunks, engine, broker)
        elapsed = time.perf_counter() - started
        assert result.events == events
        print(json.dumps({"bench": f"backtest_{model.value.lower()}_events_per_s",
                          "value": round(events / elapsed), "unit": "events/s",
                          "seconds": round(elapsed, 2), "fills": len(broker.fills),
                          **context}), flush=True)
    engine, broker = _engine_and_broker("CONSERVATIVE", fast_path=False)
    started = time.perf_counter()
    replay(tape.window(0, REFERENCE_EVENTS).events(), engine, broker)
    elapsed = time.perf_counter() - started
    print(json.dumps({"bench": "backtest_reference_events_per_s",
                      "value": round(REFERENCE_EVENTS / elapsed), "unit": "events/s",
                      "events": REFERENCE_EVENTS, "model": "CONSERVATIVE"}), flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"bench": "backtest_peak_rss_mb", "value": round(peak_mb, 1),
                      "unit": "MB", **context}), flush=True)


def run() -> Iterator[dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_backtest", "--child"],
                          capture_output=True, text=True, check=True, timeout=1_800)
    for line in done.stdout.splitlines():
        yield json.loads(line)


if __name__ == "__main__" and "--child" in sys.argv:
    _child()
