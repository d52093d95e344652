"""The per-ticker fast path really skips work (architecture.md, "Why the engine is fast").

The equivalence tests compare the engine with the fast path on and off, so they still pass
if the fast path never fires; `make bench` would show it, but nobody runs it in CI. This
counts behaviour, never wall time: how many tickers of the benchmark's quiet stream reach
the full step.
"""

from __future__ import annotations

import itertools

from benchmarks.bench_engine import _moves, _ready_engine
from gridcore.engine import GridEngine

EVENTS = 20_000


def _full_steps(engine: GridEngine, events: int) -> int:
    """Feed the benchmark's quiet ticker stream; return how many tickers ran ``_step``."""
    calls = 0
    step = engine._step

    def counting_step(close: float, ts: int) -> list[object]:
        nonlocal calls
        calls += 1
        return step(close, ts)

    engine._step = counting_step  # type: ignore[method-assign]
    for event in itertools.islice(_moves(EVENTS), events):
        assert engine.on_event(event) == []
    return calls


def test_fast_path_skips_nearly_every_quiet_ticker() -> None:
    """A full grid with the price moving inside it: under 1 % of tickers are stepped."""
    assert _full_steps(_ready_engine(True), EVENTS) < EVENTS / 100


def test_fast_path_off_steps_every_ticker() -> None:
    """The counter itself works: with the fast path off, every ticker is a full step."""
    assert _full_steps(_ready_engine(False), 2_000) == 2_000
