"""The nightly validation: 10 accounts of 4 symbols over one captured day, wall time.

Set-up (not timed): the trading bench's venue (in its own process) and throwaway
durable PostgreSQL with 10 tenants, each an account with its credential and a strategy on
each of the venue's 4 symbols (:class:`benchmarks.bench_trade.Bench`); a captured day of
each symbol written into the market tables (a generated BTCUSDT-like day: 1.5 million
trades for BTCUSDT, a quarter of that for the others, as the venue trades them, and a
ticker every 100 ms); one private capture gap per account that day; and one shadow run
per account, two hours of that day on one of the symbols (:mod:`benchmarks.shadow_runs`:
the trading daemon's runtime and shadow gateway stepped through the stored market, since
a past day cannot be traded live again).

``validation_nightly_s``: ``dagster job execute`` of ``validation_job`` for that day, the
command an operator (or the schedule) runs, with the default multiprocess executor and a
Dagster instance in a temporary ``DAGSTER_HOME``: the market observed and checked (GX on
every trade and ticker), the 10 accounts reconciled against the venue's REST API, 40
strategies replayed with 2 fill models each (80 replays), the 10 runs compared with their
seeded replays (4 fill models each, stored, a report per run), the QUEUE calibration (of
live runs only: none here) and the nightly report across users. Target < 300 s.
``run_s`` is the run's own duration as Dagster records it (without the command's
start-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_trade import Bench
from benchmarks.shadow_runs import shadow_run
from daemons.backtest.db_source import store_tape
from daemons.backtest.sources import generated_day
from daemons.db.times import datetime_of_ms
from daemons.venue.instruments import INSTRUMENTS
from gridcore.sim.tape import MarketTape

QUICK = os.environ.get("GRIDBOT_BENCH_QUICK") == "1"
ACCOUNTS = 2 if QUICK else 10
BTC_TRADES = 20_000 if QUICK else 1_500_000
TARGET_S = 300.0
#: Each account's shadow run: this long, starting an hour into the day plus 20 minutes per
#: account (clear of the 8-hourly funding, which no market stream delivers).
RUN_MS = 2 * 3_600_000


def _day() -> tuple[str, int]:
    """Yesterday (UTC), what the nightly schedule validates, and its start in ms."""
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    return day.isoformat(), int(datetime.combine(day, datetime.min.time(),
                                                 tzinfo=UTC).timestamp() * 1000)


def _capture(bench: Bench, start_ms: int) -> tuple[dict[str, int], dict[str, MarketTape]]:
    """The day's market and one listed private gap per account; row counts, the tapes."""
    counts, tapes = {"trades": 0, "tickers": 0}, {}
    for n, symbol in enumerate(bench.symbols):
        trades = BTC_TRADES if n == 0 else BTC_TRADES // 4
        tape = generated_day(symbol, seed=11 + n, trades=trades, start_ms=start_ms)
        store_tape(bench.db, tape)
        tapes[symbol] = tape
        counts["trades"] += trades
        counts["tickers"] += int((tape.kind == 2).sum())
    with bench.db.admin() as conn:
        for n, account_id in enumerate(bench.account_ids):
            at = start_ms + (n + 1) * 3_600_000
            conn.execute(
                "INSERT INTO capture_gaps (gap_id, user_id, account_id, stream, window_start,"
                " window_end, reason, filled) SELECT gen_random_uuid(), user_id, account_id,"
                " 'private', %s, %s, 'reconnect', true FROM bybit_accounts"
                " WHERE account_id = %s",
                [datetime_of_ms(at), datetime_of_ms(at + 30_000), account_id])
    return counts, tapes


def _shadow_runs(bench: Bench, tapes: dict[str, MarketTape], start_ms: int) -> None:
    """Account n's strategy on symbol n mod 4 in shadow for :data:`RUN_MS` of the day."""
    for n, account_id in enumerate(bench.account_ids):
        symbol = bench.symbols[n % len(bench.symbols)]
        with bench.db.admin() as conn:
            (strategy_id,) = conn.execute(
                "SELECT strategy_id FROM strategies WHERE account_id = %s AND symbol = %s",
                [account_id, symbol]).fetchone()
        begin = start_ms + 3_600_000 + n * 1_200_000
        shadow_run(bench.db, strategy_id, tapes[symbol], INSTRUMENTS[symbol], begin,
                   begin + RUN_MS)


def run() -> Iterator[dict]:
    day, start_ms = _day()
    with Bench(ACCOUNTS) as bench:
        counts, tapes = _capture(bench, start_ms)
        _shadow_runs(bench, tapes, start_ms)
        del tapes
        dagster_home = Path(tempfile.mkdtemp(prefix="gridbot-bench-dagster-"))
        (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "DATABASE_URL": bench.admin_url,
               "GRIDBOT_APP_DATABASE_URL": bench.app_url,
               "GRIDBOT_HOME": str(bench.home / "gridbot"), "GRIDBOT_LOCAL_VENUE_URL": bench.url,
               "DAGSTER_HOME": str(dagster_home)}
        env.pop("GRIDBOT_MASTER_KEY", None)
        dagster = str(Path(sys.executable).with_name("dagster"))
        started = time.perf_counter()
        done = subprocess.run(
            [dagster, "job", "execute", "-m", "gridbot_pipelines.definitions", "-a", "defs",
             "-j", "validation_job", "--tags", json.dumps({"dagster/partition": day})],
            env=env, capture_output=True, text=True, timeout=1800)
        wall_s = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"validation_job failed: {(done.stdout + done.stderr)[-3000:]}")
        with bench.db.admin() as conn:
            replays = conn.execute("SELECT count(*) FROM backtest_results").fetchone()[0]
            compared = conn.execute("SELECT count(*), count(DISTINCT user_id) FROM comparisons"
                                    " WHERE origin = 'pipeline'").fetchone()
            models = conn.execute("SELECT count(*) FROM comparison_results").fetchone()[0]
        report = bench.home / "gridbot" / "reports" / "nightly" / f"{day}.html"
        if not report.exists() or compared[0] != ACCOUNTS:
            raise RuntimeError(f"{compared[0]} of {ACCOUNTS} runs compared; report {report}")
        run_s = _run_seconds(dagster_home)
    yield {"bench": "validation_nightly_s", "value": round(wall_s, 1), "unit": "s",
           "target": TARGET_S, "run_s": run_s, "accounts": ACCOUNTS,
           "symbols": len(bench.symbols), "strategies": ACCOUNTS * len(bench.symbols),
           "replays": replays, "runs_compared": compared[0], "users_compared": compared[1],
           "model_comparisons": models, **counts}


def _run_seconds(dagster_home: Path) -> float:
    """The run's duration as its Dagster instance recorded it."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        (record,) = instance.get_run_records()
        return round(record.end_time - record.start_time, 1)
