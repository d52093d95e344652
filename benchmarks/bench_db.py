"""Public-trade write throughput: the COPY batch writer against row-by-row inserts.

``copy_trades_per_s`` stores a million trades through
:func:`daemons.db.copy_writer.copy_events` (binary COPY into staging, then an insert that
skips duplicates) in batches from one connection; ``copy_trades_per_s_2_writers`` does the
same from two connections at once, one symbol each, as capture may run one writer per
stream (what it adds depends on how much of the two CPUs other work leaves free).
``insert_trades_per_s`` is the baseline in the same run: one
``INSERT ... ON CONFLICT DO NOTHING`` per trade, one round trip each, one transaction.

Everything runs against a throwaway embedded server started here with the embedded
default settings (durable: fsync on), migrated like production, on the current month's
partition, and is removed afterwards. Each measurement writes fresh trade ids, and the
rows stored are counted: every trade exactly once.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from daemons.db import migrations
from daemons.db.copy_writer import copy_events
from daemons.db.embedded import EmbeddedServer
from daemons.db.session import Database
from daemons.db.settings import APP_ROLE

COPY_ROWS = 1_000_000
BATCH_ROWS = 50_000
WRITERS = 2
INSERT_ROWS = 20_000


def _trades(symbol: str, count: int, start: datetime) -> list[tuple]:
    """Trades shaped like Bybit's: numeric trade ids, ms timestamps, 8-decimal prices."""
    rows = []
    for i in range(count):
        ts = start + timedelta(microseconds=1000 * (i // 4) + i % 4)
        rows.append((symbol, str(2_100_000_000_000 + i), ts, ts + timedelta(milliseconds=7),
                     "Buy" if i % 3 else "Sell", Decimal(64_000) + Decimal(i % 5000) / 100,
                     Decimal("0.00100000") * (1 + i % 7), False))
    return rows


def _copy_rate(db: Database, streams: list[list[tuple]]) -> float:
    """Write each stream (one symbol) in batches from its own connection, all at once."""
    def write(rows: list[tuple]) -> int:
        stored = 0
        for first in range(0, len(rows), BATCH_ROWS):
            with db.market_data() as conn:
                stored += copy_events(conn, "public_trades",
                                      rows[first:first + BATCH_ROWS]).inserted
        return stored

    total = sum(len(rows) for rows in streams)
    started = time.perf_counter()
    with ThreadPoolExecutor(len(streams)) as pool:
        stored = sum(pool.map(write, streams))
    elapsed = time.perf_counter() - started
    assert stored == total, f"stored {stored} of {total}"
    return total / elapsed


def _insert_rate(db: Database, rows: list[tuple]) -> float:
    statement = ("INSERT INTO public_trades (symbol, trade_id, exchange_ts, local_ts, side, price,"
                 " size, is_block_trade) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                 " ON CONFLICT (symbol, exchange_ts, trade_id) DO NOTHING")
    started = time.perf_counter()
    with db.market_data() as conn, conn.cursor() as cur:
        for row in rows:
            cur.execute(statement, row)
    return len(rows) / (time.perf_counter() - started)


def run() -> Iterator[dict]:
    home = Path(tempfile.mkdtemp(prefix="gridbot-bench-db-"))
    server = EmbeddedServer(home)
    try:
        info = server.ensure_running()
        with psycopg.connect(info.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        with psycopg.connect(info.url("bench"), autocommit=True) as conn:
            migrations.migrate(conn)
        db = Database(info.url("bench"), info.url("bench", APP_ROLE))
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = month + timedelta(days=1)
        single = _copy_rate(db, [_trades("SOLUSDT", COPY_ROWS, start)])
        parallel = _copy_rate(db, [_trades(symbol, COPY_ROWS // WRITERS, start)
                                   for symbol in ("BTCUSDT", "ETHUSDT")[:WRITERS]])
        inserted = _insert_rate(db, _trades("XRPUSDT", INSERT_ROWS, start))
        with db.admin() as conn:
            stored = conn.execute("SELECT count(*) FROM public_trades").fetchone()[0]
        db.close()
        assert stored == 2 * COPY_ROWS + INSERT_ROWS
        context = {"batch_rows": BATCH_ROWS, "server": "embedded, default (durable) settings",
                   "table": "public_trades (monthly partition, 1 unique index)"}
        yield {"bench": "copy_trades_per_s", "value": round(single), "unit": "rows/s",
               "rows": COPY_ROWS, "writers": 1,
               "baseline_insert_trades_per_s": round(inserted), **context}
        yield {"bench": "copy_trades_per_s_2_writers", "value": round(parallel),
               "unit": "rows/s", "rows": COPY_ROWS, "writers": WRITERS, **context}
        yield {"bench": "insert_trades_per_s", "value": round(inserted), "unit": "rows/s",
               "rows": INSERT_ROWS, "method": "one INSERT ... ON CONFLICT per row",
               **context}
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)
