"""Backtest replay speed and memory on a generated BTCUSDT-like day, and trade-file loading.

The day has 1.5 million calibrated trades spread over 24 h, a ticker every 100 ms
(864,000) and three funding rows. Each fill model replays the whole day through the
vectorised replay with the default grid (0.2 % steps); CONSERVATIVE also replays it on a
dense grid (0.05 % steps), where many more trades reach an order and the engine steps far
more rows, so the bench does not show only a favourable configuration. The per-event
reference replay (the engine with its fast path off, every event stepped) runs on the
first 200,000 events of the same tape in the same process, so the ratio is meaningful.

Generating: ``backtest_generate_day_s``, the calibrated generator writing the day's
1.5 million trades (target < 3 s), against numpy drawing the same columns' randomness.

Loading: the same kind of day written as a Bybit public dump (newest first, gzipped) is
read into a tape by ``tape_from_trade_file`` (numpy columns) and, as the baseline, by the
reader it replaced (one ``Trade`` object per row, then columns). Every measurement runs in
its own child process so that each peak RSS is that work's own.
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np

TRADES = 1_500_000
REFERENCE_EVENTS = 200_000
CSV_TRADES = 1_500_000
DENSE_STEP_PCT = 0.05
CHUNK = 262_144
BYBIT_HEADER = ("timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,"
                "homeNotional,foreignNotional\n")


def _engine_and_broker(model: str, fast_path: bool = True, step_pct: float = 0.2):
    from gridcore.config import GridConfig
    from gridcore.engine import GridEngine
    from gridcore.sim.broker import SimBroker
    from gridcore.sim.models import make_fill_model

    engine = GridEngine(GridConfig(amount="x0.001", grid_step_pct=step_pct), "0.1", "0.001",
                        "bench", symbol="BTCUSDT", fast_path=fast_path)
    broker = SimBroker("BTCUSDT", make_fill_model(model, queue_ahead=0.5),
                       starting_balance=Decimal(100_000), latency_ms=50)
    return engine, broker


def _replay_row(tape, model: str, step_pct: float = 0.2) -> dict[str, object]:
    """Replay the whole tape with one fill model; the row's speed and fill count."""
    from gridcore.sim.fast_replay import replay_tape

    engine, broker = _engine_and_broker(model, step_pct=step_pct)
    events = len(tape)
    chunks = [tape.window(k, min(events, k + CHUNK)) for k in range(0, events, CHUNK)]
    started = time.perf_counter()
    result = replay_tape(chunks, engine, broker)
    elapsed = time.perf_counter() - started
    assert result.events == events
    return {"value": round(events / elapsed), "unit": "events/s", "seconds": round(elapsed, 2),
            "fills": len(broker.fills), "grid_step_pct": step_pct}


def _child(trades: int, reference_events: int) -> None:
    from daemons.backtest.sources import generated_day
    from gridcore.sim.models import FillModelName
    from gridcore.sim.replay import replay

    tape = generated_day(seed=1, trades=trades)
    context = {"events": len(tape), "trades": int((tape.kind == 1).sum()),
               "tickers": int((tape.kind == 2).sum())}
    for model in FillModelName:
        print(json.dumps({"bench": f"backtest_{model.value.lower()}_events_per_s",
                          **_replay_row(tape, model.value), **context}), flush=True)
    print(json.dumps({"bench": "backtest_conservative_dense_events_per_s",
                      **_replay_row(tape, "CONSERVATIVE", DENSE_STEP_PCT), **context}),
          flush=True)
    engine, broker = _engine_and_broker("CONSERVATIVE", fast_path=False)
    started = time.perf_counter()
    replay(tape.window(0, reference_events).events(), engine, broker)
    elapsed = time.perf_counter() - started
    print(json.dumps({"bench": "backtest_reference_events_per_s",
                      "value": round(reference_events / elapsed), "unit": "events/s",
                      "events": reference_events, "model": "CONSERVATIVE"}), flush=True)
    print(json.dumps({"bench": "backtest_peak_rss_mb", "value": _peak_rss_mb(),
                      "unit": "MB", **context}), flush=True)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def write_bybit_dump(path: Path, trades: int, seed: int = 7) -> None:
    """A generated day of ``trades`` as Bybit writes its public dumps: newest first, gzipped.

    Timestamps are seconds with four decimals and ids 36-character UUID-like strings, as
    in Bybit's files, so the text to parse is as long as a real day's.
    """
    from daemons.backtest.sources import DAY_MS
    from daemons.marketdata.generator import bundled_calibration, generate_arrays

    cols = generate_arrays(trades, seed, calibration=bundled_calibration())
    span = max(int(cols["ts_ms"][-1]), 1)
    ts = 1_704_067_200_000 + (cols["ts_ms"] * ((DAY_MS - 1) / span)).astype(np.int64)
    with gzip.open(path, "wt", compresslevel=1, newline="") as out:
        out.write(BYBIT_HEADER)
        for stop in range(trades, 0, -CHUNK):
            part = slice(max(stop - CHUNK, 0), stop)
            out.write("".join(_dump_lines(ts[part].tolist(), cols["price"][part].tolist(),
                                          cols["size"][part].tolist(),
                                          cols["is_buy"][part].tolist(), part.start)))


def _dump_lines(ts: list[int], price: list[float], size: list[float], is_buy: list[bool],
                first: int) -> Iterator[str]:
    """Rows newest first (the chunk reversed)."""
    for k in range(len(ts) - 1, -1, -1):
        t, p, s, i = ts[k], price[k], size[k], first + k
        yield (f"{t // 1000}.{t % 1000:03d}0,BTCUSDT,{'Buy' if is_buy[k] else 'Sell'},{s!r},"
               f"{p!r},ZeroPlusTick,{i:08x}-0000-4000-8000-{i:012x},{p * s * 1e8:.0f},{s!r},"
               f"{p * s:.4f}\n")


def _columns_by_rows(path: Path) -> dict[str, np.ndarray]:
    """The baseline: the reader ``tape_from_trade_file`` used before the column loader,
    as it was for Bybit dumps (a ``csv.DictReader`` row, then a ``Trade``, per trade)."""
    import csv

    from daemons.marketdata.bars import open_text
    from daemons.marketdata.trade import Trade

    with open_text(path) as handle:
        trades = [Trade(ts_ms=int(round(float(row["timestamp"]) * 1000)),
                        trade_id=row["trdMatchID"],
                        side="Buy" if row["side"].strip() == "Buy" else "Sell",
                        price=float(row["price"]), size=float(row["size"]))
                  for row in csv.DictReader(handle)]
    if len(trades) > 1 and trades[0].ts_ms > trades[-1].ts_ms:
        trades.reverse()
    n = len(trades)
    return {"ts_ms": np.fromiter((t.ts_ms for t in trades), np.int64, n),
            "price": np.fromiter((t.price for t in trades), np.float64, n),
            "size": np.fromiter((t.size for t in trades), np.float64, n),
            "is_buy": np.fromiter((t.side == "Buy" for t in trades), bool, n)}


def _load_by_rows(path: Path):
    """The old ``tape_from_trade_file``: the objects are freed before the tape is built."""
    from daemons.backtest.sources import tape_from_trades

    cols = _columns_by_rows(path)
    order = np.argsort(cols["ts_ms"], kind="stable")
    return tape_from_trades("BTCUSDT", cols["ts_ms"][order], cols["price"][order],
                            cols["size"][order], cols["is_buy"][order])


def _csv_child(path: Path, loader: str) -> None:
    """Load the dump into a tape one way; print seconds, trades/s and peak RSS."""
    from daemons.backtest.sources import tape_from_trade_file

    started = time.perf_counter()
    if loader == "columns":
        tape = tape_from_trade_file("BTCUSDT", path)
    else:
        tape = _load_by_rows(path)
    elapsed = time.perf_counter() - started
    trades = int((tape.kind == 1).sum())
    print(json.dumps({"seconds": round(elapsed, 2), "trades_per_s": round(trades / elapsed),
                      "peak_rss_mb": _peak_rss_mb(), "trades": trades, "events": len(tape)}))


def _csv_rows(trades: int) -> Iterator[dict[str, object]]:
    """``backtest_csv_load_*`` rows: the column loader, with the row reader as baseline."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "BTCUSDT-day.csv.gz"
        write_bybit_dump(path, trades)
        file_mb = round(path.stat().st_size / 2**20, 1)
        new, old = (_run_child("--csv-child", str(path), loader)[0]
                    for loader in ("columns", "rows"))
    context = {"trades": new["trades"], "events": new["events"], "file_mb": file_mb,
               "format": "Bybit dump, newest first, gzipped"}
    yield {"bench": "backtest_csv_load_trades_per_s", "value": new["trades_per_s"],
           "unit": "trades/s", "seconds": new["seconds"], "baseline": old["trades_per_s"],
           "baseline_seconds": old["seconds"], **context}
    yield {"bench": "backtest_csv_load_peak_rss_mb", "value": new["peak_rss_mb"], "unit": "MB",
           "baseline": old["peak_rss_mb"], **context}


def _run_child(*args: str) -> list[dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_backtest", *args],
                          capture_output=True, text=True, check=True, timeout=1_800)
    return [json.loads(line) for line in done.stdout.splitlines()]


def _generator_row(trades: int) -> dict[str, object]:
    """How fast the calibrated generator writes a day of trades (the backtest's synthetic
    source). Baseline: numpy drawing the same count of exponential gaps, lognormal sizes
    and sides, the floor any generator of these columns pays."""
    from daemons.marketdata.generator import bundled_calibration, generate_arrays

    calibration = bundled_calibration()
    started = time.perf_counter()
    generate_arrays(trades, 1, calibration=calibration)
    seconds = time.perf_counter() - started
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    rng.exponential(1.0, trades), rng.lognormal(0.0, 1.0, trades), rng.random(trades) < 0.5
    floor = time.perf_counter() - started
    return {"bench": "backtest_generate_day_s", "value": round(seconds, 3), "unit": "s",
            "trades": trades, "target_s": 3.0, "baseline_numpy_draws_s": round(floor, 3),
            "ratio_to_baseline": round(seconds / floor, 1)}


def run() -> Iterator[dict[str, object]]:
    yield from _run_child("--child", str(TRADES), str(REFERENCE_EVENTS))
    yield from _csv_rows(CSV_TRADES)
    yield _generator_row(TRADES)


if __name__ == "__main__" and "--child" in sys.argv:
    _child(int(sys.argv[2]), int(sys.argv[3]))
elif __name__ == "__main__" and "--csv-child" in sys.argv:
    _csv_child(Path(sys.argv[2]), sys.argv[3])
