"""Capture: trades per second from the venue's WebSocket to committed rows, and the delay.

The venue runs in its own process (as ``gridbot venue`` does) on the generated tape at a
speed that offers about 6,000 trades per second; this process runs the capture daemon's
public side (pybit WebSocket, normaliser, batched COPY writer) into a throwaway durable
embedded PostgreSQL (fsync on, like production). ``capture_trades_per_s`` is the rows
committed per second over the measured window, beside the venue's offered rate;
``capture_p99_ms`` is the 99th percentile of commit time minus the trade's exchange time
``T``: everything the capture path adds (socket, parse, queue, batch, COPY, commit).
Its context splits that delay: ``receipt_p99_ms`` is the stored receipt time minus ``T``
(venue, loopback socket, websocket-client and pybit, before any capture code runs).
The same run measures a baseline in a child process: the same capture with
websocket-client's pure-Python UTF-8 check (what it falls back to without ``wsaccel``),
which was the largest share of the delay before ``wsaccel`` became a dependency.
Loopback only, bounded time (about 45 s).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg

from benchmarks.bench_venue import trades_played
from daemons.bybit.endpoints import endpoints_for
from daemons.capture.daemon import CaptureConfig, CaptureDaemon
from daemons.capture.reconciler import ReconcileConfig
from daemons.db import migrations
from daemons.db.embedded import EmbeddedServer
from daemons.db.session import Database
from daemons.db.settings import APP_ROLE
from daemons.db.targets import Targets
from daemons.db.times import datetime_of_ms

SPEED = 100.0
WARMUP_S = 4.0
MEASURE_S = 12.0
SYMBOL = "BTCUSDT"


def run() -> Iterator[dict]:
    """Yield the throughput and p99 rows, each beside the same run's baseline."""
    measured = _measure()
    # The baseline: the same capture with websocket-client's pure-Python UTF-8 check (its
    # fallback without wsaccel), in a child whose import of wsaccel fails.
    child = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['wsaccel'] = None; "
         "import json; from benchmarks.bench_capture import _measure; "
         "print(json.dumps(_measure()))"],
        check=True, capture_output=True, text=True)
    baseline = json.loads(child.stdout.strip().splitlines()[-1])
    context = {"speed": SPEED, "seconds": MEASURE_S, "tape": "generated", "fsync": True,
               **{k: measured[k] for k in ("offered_trades_per_s", "committed", "reconnects")}}
    yield {"bench": "capture_trades_per_s", "value": measured["trades_per_s"],
           "unit": "trades/s", "target": 5000,
           "baseline_pure_python_utf8": baseline["trades_per_s"], **context}
    yield {"bench": "capture_p99_ms", "value": measured["p99_ms"], "unit": "ms",
           "target": 250, "p50_ms": measured["p50_ms"],
           "receipt_p99_ms": measured["receipt_p99_ms"],
           "baseline_pure_python_utf8": baseline["p99_ms"],
           "baseline_receipt_p99_ms": baseline["receipt_p99_ms"],
           "ratio_to_baseline": round(measured["p99_ms"] / baseline["p99_ms"], 3), **context}


def _measure() -> dict[str, float]:
    """Run venue and capture for ``WARMUP_S + MEASURE_S``; return the window's figures."""
    script = "from benchmarks.bench_venue import serve_for_bench; serve_for_bench()"
    child = subprocess.Popen([sys.executable, "-c", script, str(SPEED)],
                             stdout=subprocess.PIPE, text=True)
    home = Path(tempfile.mkdtemp(prefix="gridbot-bench-capture-"))
    server = EmbeddedServer(home)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        info = server.ensure_running()
        with psycopg.connect(info.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        with psycopg.connect(info.url("bench"), autocommit=True) as conn:
            migrations.migrate(conn)
        db = Database(info.url("bench"), info.url("bench", APP_ROLE))
        config = CaptureConfig(reconcile=ReconcileConfig(interval_s=3600))
        daemon = CaptureDaemon(db, endpoints_for("local", f"http://127.0.0.1:{port}"),
                               Targets((SYMBOL,), ()), home / "gridbot", config).start()
        try:
            time.sleep(WARMUP_S)
            stats = daemon.writer.stats
            stored0, played0 = stats.inserted["public_trades"], trades_played(port)
            stats.lags_ms.clear()
            since_ms = time.time_ns() // 1_000_000
            time.sleep(MEASURE_S)
            stored1, played1 = stats.inserted["public_trades"], trades_played(port)
            lags = np.array(list(stats.lags_ms), dtype=np.float64)
            reconnects = daemon.public.stream.stats.reconnects
        finally:
            daemon.stop()
        receipt_p99 = _receipt_p99_ms(db, since_ms)
        db.close()
    finally:
        child.terminate()
        child.wait(10)
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)
    return {"trades_per_s": round((stored1 - stored0) / MEASURE_S),
            "offered_trades_per_s": round((played1 - played0) / MEASURE_S),
            "committed": stored1 - stored0, "reconnects": reconnects,
            "p99_ms": round(float(np.percentile(lags, 99)), 1),
            "p50_ms": round(float(np.percentile(lags, 50)), 1), "receipt_p99_ms": receipt_p99}


def _receipt_p99_ms(db: Database, since_ms: int) -> float:
    """p99 of receipt time minus exchange time, over the trades stored since ``since_ms``."""
    with db.market_data() as conn:
        (value,) = conn.execute(
            "SELECT percentile_cont(0.99) WITHIN GROUP "
            "(ORDER BY extract(epoch FROM local_ts - exchange_ts) * 1000) "
            "FROM public_trades WHERE exchange_ts >= %s",
            [datetime_of_ms(since_ms)]).fetchone()
    return round(float(value), 1)
