"""Capture: trades per second from the venue's WebSocket to committed rows, and the delay.

The venue runs in its own process (as ``gridbot venue`` does) on the generated tape at a
speed that offers about 6,000 trades per second; this process runs the capture daemon's
public side (pybit WebSocket, normaliser, batched COPY writer) into a throwaway durable
embedded PostgreSQL (fsync on, like production). ``capture_trades_per_s`` is the rows
committed per second over the measured window, beside the venue's offered rate;
``capture_p99_ms`` is the 99th percentile of commit time minus the trade's exchange time
``T``: everything the capture path adds (socket, parse, queue, batch, COPY, commit).
Loopback only, bounded time (about 20 s).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg

from daemons.bybit.endpoints import endpoints_for
from daemons.capture.daemon import CaptureConfig, CaptureDaemon
from daemons.capture.reconciler import ReconcileConfig
from daemons.capture.targets import Targets
from daemons.db import migrations
from daemons.db.embedded import EmbeddedServer
from daemons.db.session import Database
from daemons.db.settings import APP_ROLE

SPEED = 100.0
WARMUP_S = 4.0
MEASURE_S = 12.0
SYMBOL = "BTCUSDT"


def _played(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/status", timeout=5) as answer:
        return int(json.load(answer)["trades_played"])


def run() -> Iterator[dict]:
    """Yield the throughput and p99 delay rows."""
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
            stored0, played0 = stats.inserted["public_trades"], _played(port)
            stats.lags_ms.clear()
            time.sleep(MEASURE_S)
            stored1, played1 = stats.inserted["public_trades"], _played(port)
            lags = np.array(list(stats.lags_ms), dtype=np.float64)
            reconnects = daemon.public.stream.stats.reconnects
        finally:
            daemon.stop()
            db.close()
    finally:
        child.terminate()
        child.wait(10)
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)
    context = {"speed": SPEED, "seconds": MEASURE_S, "tape": "generated",
               "offered_trades_per_s": round((played1 - played0) / MEASURE_S),
               "committed": stored1 - stored0, "reconnects": reconnects, "fsync": True}
    yield {"bench": "capture_trades_per_s", "value": round((stored1 - stored0) / MEASURE_S),
           "unit": "trades/s", "target": 5000, **context}
    yield {"bench": "capture_p99_ms", "value": round(float(np.percentile(lags, 99)), 1),
           "unit": "ms", "target": 250, "p50_ms": round(float(np.percentile(lags, 50)), 1),
           **context}
