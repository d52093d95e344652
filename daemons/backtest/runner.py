"""Run one backtest: a market tape through a fresh engine and simulated broker.

The same code serves the command line, the Dagster assets and the tests; a window of the
source is chosen by exchange time, and the result carries a digest that two runs with the
same inputs and parameters must share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from daemons.backtest.live_seed import LiveSeed
from daemons.backtest.sources import generated_day, tape_from_bars, tape_from_trade_file
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.sim.broker import DEFAULT_MAKER_FEE, SimBroker
from gridcore.sim.digest import result_digest
from gridcore.sim.fast_replay import replay_tape
from gridcore.sim.models import make_fill_model
from gridcore.sim.replay import ReplayResult
from gridcore.sim.tape import MarketTape

#: Rows replayed per chunk: bounds the memory of derived columns and paces progress.
CHUNK_ROWS = 262_144
FILE_SOURCES = ("bundled", "generated")


def iso_ms(ms: int | None) -> str:
    """Epoch milliseconds as ISO-8601 UTC, for messages (``open`` when unbounded)."""
    if ms is None:
        return "open"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


class BacktestInputError(ValueError):
    """The request cannot be run as given (bad window, empty data, unknown source)."""


@dataclass(frozen=True)
class BacktestSpec:
    """Everything that determines a backtest's result."""

    config: GridConfig
    symbol: str = "BTCUSDT"
    tick_size: Decimal = Decimal("0.1")
    qty_step: Decimal = Decimal("0.001")
    fill_model: str = "CONSERVATIVE"
    latency_ms: int = 0
    queue_ahead: float = 0.0
    starting_balance: Decimal = Decimal(10_000)
    maker_fee_rate: Decimal = DEFAULT_MAKER_FEE
    start_ms: int | None = None
    end_ms: int | None = None
    strategy_id: str = "bt"

    def __post_init__(self) -> None:
        make_fill_model(self.fill_model, queue_ahead=self.queue_ahead)  # validates both
        if self.latency_ms < 0:
            raise BacktestInputError(f"latency: must be >= 0 ms, got {self.latency_ms}")
        if self.starting_balance <= 0:
            raise BacktestInputError(f"balance: must be > 0, got {self.starting_balance}")
        if (self.start_ms is not None and self.end_ms is not None
                and self.start_ms >= self.end_ms):
            raise BacktestInputError(
                f"window: --from ({iso_ms(self.start_ms)}) must be before "
                f"--to ({iso_ms(self.end_ms)})"
            )


@dataclass(frozen=True)
class BacktestRun:
    """A finished backtest."""

    spec: BacktestSpec
    engine: GridEngine
    broker: SimBroker
    result: ReplayResult
    digest: str

    def summary(self) -> dict[str, object]:
        return {**self.result.summary(self.engine, self.broker),
                "fill_model": self.spec.fill_model.upper(), "digest": self.digest}


def load_file_source(source: str, symbol: str, *, seed: int = 1) -> MarketTape:
    """``bundled`` (the month of bars), ``generated`` (a calibrated day) or a trade CSV."""
    if source == "bundled":
        return tape_from_bars(symbol)
    if source == "generated":
        return generated_day(symbol, seed=seed)
    path = Path(source)
    if not path.is_file():
        raise BacktestInputError(
            f"source: {source!r} is not a file, nor one of {', '.join(FILE_SOURCES)}"
        )
    return tape_from_trade_file(symbol, path)


def select_window(tape: MarketTape, start_ms: int | None, end_ms: int | None) -> MarketTape:
    """Rows with ``start_ms <= exchange_ts < end_ms``; refuses an empty window."""
    lo = 0 if start_ms is None else int(np.searchsorted(tape.ts, start_ms, side="left"))
    hi = len(tape) if end_ms is None else int(np.searchsorted(tape.ts, end_ms, side="left"))
    if hi <= lo:
        span = "nothing"
        if len(tape):
            span = f"{iso_ms(int(tape.ts[0]))} to {iso_ms(int(tape.ts[-1]))}"
        raise BacktestInputError(
            f"window: no market data from {iso_ms(start_ms)} to {iso_ms(end_ms)} "
            f"(the source spans {span})"
        )
    return tape.window(lo, hi)


def event_total(spec: BacktestSpec, tape: MarketTape, seed: LiveSeed | None = None) -> int:
    """How many events :func:`run_backtest` will replay from ``tape`` (for a progress bar
    with a total): the window's rows, less those a seed's snapshot had already stepped."""
    rows = len(select_window(tape, spec.start_ms, spec.end_ms))
    return rows - (seed.events_at_ts if seed is not None else 0)


def chunked(tape: MarketTape, rows: int = CHUNK_ROWS) -> Iterator[MarketTape]:
    """Consecutive windows of ``rows`` rows (views, no copies)."""
    for k in range(0, len(tape), rows):
        yield tape.window(k, min(len(tape), k + rows))


def seeded_spec(spec: BacktestSpec, seed: LiveSeed) -> BacktestSpec:
    """The spec of a replay resumed from ``seed``: the live engine's own parameters,
    instrument and wallet, starting at the snapshot (not the defaults of the command line)."""
    return replace(spec, config=seed.config, symbol=seed.symbol, tick_size=seed.tick_size,
                   qty_step=seed.qty_step, starting_balance=seed.balance,
                   start_ms=seed.snapshot_ts)


def after_cut(tapes: Iterable[MarketTape], ts: int, stepped: int) -> Iterator[MarketTape]:
    """``tapes`` (starting at ``ts``) without the first ``stepped`` rows of millisecond
    ``ts``: a live snapshot had already stepped them, the rest of that millisecond is new."""
    for tape in tapes:
        if stepped:
            at_ts = int(np.searchsorted(tape.ts, ts, side="right"))
            drop = min(stepped, at_ts)
            stepped -= drop
            if stepped and at_ts < len(tape):
                break
            tape = tape.window(drop, len(tape))
        if len(tape):
            yield tape
    if stepped:
        raise BacktestInputError(
            f"seed: the snapshot had stepped {stepped} more events at {iso_ms(ts)} than the "
            "source holds: the data differs from what the live engine saw")


def run_backtest(
    spec: BacktestSpec,
    tapes: MarketTape | Iterable[MarketTape],
    *,
    seed: LiveSeed | None = None,
    progress: Callable[[int], None] | None = None,
    wrap_engine: Callable[[GridEngine], Any] | None = None,
) -> BacktestRun:
    """Replay the spec's window and return the finished run.

    ``tapes`` is one tape (its window is selected here) or an already windowed sequence of
    consecutive tapes (as the database source yields them). With ``seed`` (and a spec from
    :func:`seeded_spec`) the engine and the account start where a live run stood instead of
    from scratch, and the replay resumes right after the snapshot's last event.
    ``wrap_engine`` gets the engine and returns what the replay steps instead (a wrapper
    passing every call through, e.g. one recording the decisions for a comparison).
    """
    if seed is not None and spec.start_ms != seed.snapshot_ts:
        raise ValueError("a seeded run starts at its snapshot: build the spec with seeded_spec")
    if isinstance(tapes, MarketTape):
        tapes = chunked(select_window(tapes, spec.start_ms, spec.end_ms))
    if seed is not None:
        tapes = after_cut(tapes, seed.snapshot_ts, seed.events_at_ts)
    broker = SimBroker(spec.symbol, make_fill_model(spec.fill_model, queue_ahead=spec.queue_ahead),
                       maker_fee_rate=spec.maker_fee_rate, starting_balance=spec.starting_balance,
                       latency_ms=spec.latency_ms)
    if seed is None:
        engine = GridEngine(spec.config, spec.tick_size, spec.qty_step, spec.strategy_id,
                            symbol=spec.symbol)
    else:
        engine = GridEngine.restore(seed.engine_state)
        # Copies: the broker fills its orders in place, and one seed may start several
        # replays (a comparison replays a window once per fill model).
        broker.seed_account(balance=seed.balance, positions=seed.positions,
                            orders=[replace(order) for order in seed.orders],
                            in_flight=seed.in_flight)
    stepped = engine if wrap_engine is None else wrap_engine(engine)
    result = replay_tape(tapes, stepped, broker, progress=progress)
    if result.events == 0:
        raise BacktestInputError("window: no market data to replay")
    return BacktestRun(spec, engine, broker, result, result_digest(result, engine, broker))
