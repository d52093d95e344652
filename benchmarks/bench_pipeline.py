"""The nightly validation: 10 accounts of 4 symbols over one captured day, wall time.

Set-up (not timed): the trading bench's venue (in its own process) and throwaway
durable PostgreSQL with 10 tenants, each an account with its credential and a strategy on
each of the venue's 4 symbols (:class:`benchmarks.bench_trade.Bench`); a captured day of
each symbol written into the market tables (a generated BTCUSDT-like day: 1.5 million
trades for BTCUSDT, a quarter of that for the others, as the venue trades them, and a
ticker every 100 ms); one private capture gap per account that day.

``validation_nightly_s``: ``dagster job execute`` of ``validation_job`` for that day, the
command an operator (or the schedule) runs, with the default multiprocess executor and a
Dagster instance in a temporary ``DAGSTER_HOME``: the market observed and checked (GX on
every trade and ticker), the 10 accounts reconciled against the venue's REST API, and 40
strategies replayed with 2 fill models each (80 replays). Target < 300 s. ``run_s`` is
the run's own duration as Dagster records it (without the command's start-up).
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
from daemons.backtest.db_source import store_tape
from daemons.backtest.sources import generated_day
from daemons.db.times import datetime_of_ms

QUICK = os.environ.get("GRIDBOT_BENCH_QUICK") == "1"
ACCOUNTS = 2 if QUICK else 10
BTC_TRADES = 20_000 if QUICK else 1_500_000
TARGET_S = 300.0


def _day() -> tuple[str, int]:
    """Yesterday (UTC), what the nightly schedule validates, and its start in ms."""
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    return day.isoformat(), int(datetime.combine(day, datetime.min.time(),
                                                 tzinfo=UTC).timestamp() * 1000)


def _capture(bench: Bench, start_ms: int) -> dict[str, int]:
    """The day's market and one listed private gap per account; row counts."""
    counts = {"trades": 0, "tickers": 0}
    for n, symbol in enumerate(bench.symbols):
        trades = BTC_TRADES if n == 0 else BTC_TRADES // 4
        tape = generated_day(symbol, seed=11 + n, trades=trades, start_ms=start_ms)
        store_tape(bench.db, tape)
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
    return counts


def run() -> Iterator[dict]:
    day, start_ms = _day()
    with Bench(ACCOUNTS) as bench:
        counts = _capture(bench, start_ms)
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
        run_s = _run_seconds(dagster_home)
    yield {"bench": "validation_nightly_s", "value": round(wall_s, 1), "unit": "s",
           "target": TARGET_S, "run_s": run_s, "accounts": ACCOUNTS,
           "symbols": len(bench.symbols), "strategies": ACCOUNTS * len(bench.symbols),
           "replays": replays, **counts}


def _run_seconds(dagster_home: Path) -> float:
    """The run's duration as its Dagster instance recorded it."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        (record,) = instance.get_run_records()
        return round(record.end_time - record.start_time, 1)
