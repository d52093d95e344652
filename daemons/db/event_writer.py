"""The event writer: a queue-fed, batched, at-least-once writer that survives outages.

The daemons that store what the exchange sends (capture, trading) write through it, each
with its own instance and spill directory. Stream threads and the reconciler
:meth:`~EventWriter.put` rows (built by :mod:`daemons.db.event_rows`); one writer thread
collects them and every ``flush_interval_s`` (or sooner, at ``batch_rows``) stores what
it holds with the data layer's COPY writer, one transaction per tenant scope: market
rows in ``db.market_data()``, each account's rows in ``db.unit_of_work(owner)`` so that
row-level security checks every private row. Duplicates (a reconnect replaying messages,
the reconciler fetching what the stream already delivered) are dropped by natural key.

When PostgreSQL is unreachable the rows stay in memory and the flush is retried with
backoff; past ``max_buffer_rows`` they are appended to a spill file in the writer's spill
directory (capture's is ``$GRIDBOT_HOME/capture/spill/``; JSON lines, types tagged so
Decimals and times come back exact). When the database answers again, spill files are
replayed first, then the memory buffer. :meth:`~EventWriter.close` flushes everything, or
spills it if the database is still down; the next start replays it. A batch refused for
another reason (a bug, a constraint) is split down to the offending rows, which go to
``raw_quarantine``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from daemons.db.copy_writer import TABLES, EventTable, copy_events
from daemons.db.event_rows import GAPS, QUARANTINE, Row, ms
from daemons.db.quarantine import quarantine
from daemons.db.session import Database

log = logging.getLogger(__name__)

Scope = UUID | None
_DOWN = (psycopg.OperationalError, psycopg.InterfaceError)
_LAG_TABLE = "public_trades"


@dataclass(frozen=True, slots=True)
class WriterConfig:
    """Batching and outage tunables; see the module docstring."""

    flush_interval_s: float = 0.02
    batch_rows: int = 5000
    max_buffer_rows: int = 200_000
    retry_min_s: float = 0.2
    retry_max_s: float = 5.0

    def __post_init__(self) -> None:
        if not all(0 < value < math.inf for value in (
                self.flush_interval_s, self.batch_rows, self.max_buffer_rows,
                self.retry_min_s, self.retry_max_s)):  # NaN fails every comparison
            raise ValueError("writer: flush_interval_s, batch_rows, max_buffer_rows and the "
                             "retry delays must be positive and finite")


@dataclass
class WriterStats:
    """What the writer has done; read by the status snapshot (approximate under load)."""

    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    inserted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    batches: int = 0
    failures: int = 0
    quarantined: int = 0
    refused: int = 0
    spilled_rows: int = 0
    replayed_rows: int = 0
    buffered_rows: int = 0
    db_up: bool = True
    last_commit_ms: int = 0
    lags_ms: deque[int] = field(default_factory=lambda: deque(maxlen=200_000))


class EventWriter:
    """Batched writer thread; see the module docstring.

    Parameters
    ----------
    db:
        The data layer.
    spill_dir:
        Where spill files go (``$GRIDBOT_HOME/capture/spill`` for capture), created
        mode 0700.
    name:
        Whose writer it is (``capture``, ``trading``): its thread, its log lines and the
        ``source`` of the rows it quarantines (``capture.writer``) say so.
    """

    def __init__(self, db: Database, spill_dir: Path, config: WriterConfig = WriterConfig(),
                 *, name: str) -> None:
        self.db = db
        self.name = name
        self.config = config
        self.spill_dir = Path(spill_dir)
        self.stats = WriterStats()
        self._queue: queue.SimpleQueue[tuple[Scope, str, Sequence[Row]] | None] = \
            queue.SimpleQueue()
        self._pending: dict[Scope, dict[str, list[Row]]] = {}
        self._pending_rows = 0
        self._backlog: dict[str, int] = defaultdict(int)
        self._count_lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._spill_file: Path | None = None
        self._retry_at = 0.0
        self._retry_s = config.retry_min_s

    # -- API for producers ---------------------------------------------------------------

    def put(self, scope: Scope, table: str, rows: Sequence[Row]) -> None:
        """Queue rows of ``table`` for the tenant ``scope`` (None: shared market data)."""
        if rows:
            with self._count_lock:
                self._backlog[table] += len(rows)
            self._queue.put((scope, table, rows))

    def start(self) -> EventWriter:
        self.spill_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._thread.start()
        return self

    def close(self, timeout_s: float = 30.0) -> None:
        """Store everything queued (or spill it if the database is down), then stop."""
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout_s)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until nothing is queued, buffered or spilled (tests, clean shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self.backlog() or self.spill_files():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def backlog(self) -> int:
        """Rows received and not yet committed (queued plus buffered in memory)."""
        with self._count_lock:
            return sum(self._backlog.values())

    def backlog_by_table(self) -> dict[str, int]:
        with self._count_lock:
            return {table: count for table, count in self._backlog.items() if count}

    def spill_files(self) -> list[Path]:
        if not self.spill_dir.is_dir():
            return []
        return sorted(self.spill_dir.glob("spill-*.jsonl"))

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        last_flush = time.monotonic()
        running = True
        while running:
            timeout = max(self.config.flush_interval_s - (time.monotonic() - last_flush), 0.001)
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ()
            running = self._take(item)
            while running:
                try:
                    running = self._take(self._queue.get_nowait())
                except queue.Empty:
                    break
                if self._pending_rows >= self.config.batch_rows:
                    break
            now = time.monotonic()
            due = now - last_flush >= self.config.flush_interval_s \
                or self._pending_rows >= self.config.batch_rows
            if due and now >= self._retry_at:
                last_flush = now
                self._safe_flush()
            with self._idle:
                self._idle.notify_all()
        self._final_flush()
        with self._idle:
            self._idle.notify_all()

    def _take(self, item: tuple | None) -> bool:
        if item is None:
            return False
        if item:
            scope, table, rows = item
            self._pending.setdefault(scope, {}).setdefault(table, []).extend(rows)
            self._pending_rows += len(rows)
        return True

    def _safe_flush(self) -> None:
        try:
            self._flush()
        except Exception as e:  # the writer thread must outlive any surprise
            log.exception("%s flush failed", self.name)
            self._down(e)

    def _final_flush(self) -> None:
        self._retry_at = 0.0
        self._safe_flush()
        if self._pending_rows:
            log.warning("database unavailable at shutdown: %d rows spilled to %s",
                        self._pending_rows, self.spill_dir)
            self._spill_pending()

    def _flush(self) -> None:
        if self.spill_files() and not self._replay():
            self._maybe_spill()
            return
        for scope in list(self._pending):
            tables = self._pending[scope]
            try:
                self._write_or_isolate(scope, tables)
            except _DOWN as e:
                self._down(e)
                self._maybe_spill()
                return
            self._forget(scope)
        self._up()

    def _write_or_isolate(self, scope: Scope, tables: dict[str, list[Row]]) -> None:
        try:
            self._write(scope, tables)
        except _DOWN:
            raise
        except psycopg.Error as e:
            log.error("%s batch refused (%s): isolating the bad rows", self.name,
                      type(e).__name__)
            self.stats.failures += 1
            self._isolate(scope, tables)

    def _forget(self, scope: Scope) -> None:
        self._release(self._pending.pop(scope, {}))

    def _release(self, tables: dict[str, list[Row]]) -> None:
        with self._count_lock:
            for table, rows in tables.items():
                self._backlog[table] -= len(rows)
                self._pending_rows -= len(rows)

    def _transaction(self, scope: Scope) -> AbstractContextManager[psycopg.Connection]:
        return self.db.market_data() if scope is None else self.db.unit_of_work(scope)

    def _write(self, scope: Scope, tables: dict[str, list[Row]]) -> None:
        """One transaction for every row of one scope."""
        with self._transaction(scope) as conn:
            results = {table: _store(conn, table, rows) for table, rows in tables.items()
                       if rows}
        now = time.time_ns() // 1_000_000
        self.stats.batches += 1
        self.stats.last_commit_ms = now
        for table, inserted in results.items():
            self.stats.received[table] += len(tables[table])
            self.stats.inserted[table] += inserted
        trades = tables.get(_LAG_TABLE)
        if trades:
            self.stats.lags_ms.extend(now - ms(row[2]) for row in trades)

    def _isolate(self, scope: Scope, tables: dict[str, list[Row]]) -> None:
        """Store what can be stored, row by row if needed; quarantine the rest."""
        for table, rows in tables.items():
            try:
                self._write(scope, {table: rows})
                continue
            except _DOWN:
                raise
            except psycopg.Error:
                pass
            for row in rows:
                try:
                    self._write(scope, {table: [row]})
                except _DOWN:
                    raise
                except psycopg.Error as e:
                    self._quarantine_row(scope, table, row, e)

    def _quarantine_row(self, scope: Scope, table: str, row: Row, error: Exception) -> None:
        account = _account_of(table, row)
        text = json.dumps({"table": table, "row": [_encode(v) for v in row]})
        try:
            with self._transaction(scope) as conn:
                quarantine(conn, source=f"{self.name}.writer", payload=text,
                           error=f"{type(error).__name__}: {str(error)[:300]}",
                           local_ts=datetime.now().astimezone(), topic=table,
                           account_id=account if scope is not None else None)
        except _DOWN:
            raise
        except psycopg.Error as e:
            # The row names an account its scope's user does not own: storing it anywhere
            # would show one tenant's data to another. Refuse it, loudly.
            self.stats.refused += 1
            log.error("%s: one %s row refused and not quarantined (%s): it names an "
                      "account outside its tenant", self.name, table, type(e).__name__)
            return
        self.stats.quarantined += 1
        log.error("%s: one %s row refused by the database and quarantined", self.name, table)

    # -- outages -----------------------------------------------------------------------------

    def _down(self, error: Exception) -> None:
        if self.stats.db_up:
            log.error("database unavailable (%s): buffering %s rows", type(error).__name__,
                      self.name)
        self.stats.db_up = False
        self.stats.failures += 1
        self._retry_at = time.monotonic() + self._retry_s
        self._retry_s = min(self._retry_s * 2, self.config.retry_max_s)

    def _up(self) -> None:
        if not self.stats.db_up:
            log.info("database available again")
        self.stats.db_up = True
        self._retry_s = self.config.retry_min_s
        self.stats.buffered_rows = self._pending_rows

    def _maybe_spill(self) -> None:
        self.stats.buffered_rows = self._pending_rows
        if self._pending_rows > self.config.max_buffer_rows:
            self._spill_pending()

    def _spill_pending(self) -> None:
        if self._spill_file is None or not self._spill_file.exists():
            self._spill_file = self.spill_dir / f"spill-{time.time_ns()}-{os.getpid()}.jsonl"
        fd = os.open(self._spill_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            for scope, tables in self._pending.items():
                for table, rows in tables.items():
                    if rows:
                        out.write(json.dumps({"s": None if scope is None else str(scope),
                                              "t": table,
                                              "r": [[_encode(v) for v in row] for row in rows]}))
                        out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        count = self._pending_rows
        self.stats.spilled_rows += count
        for tables in self._pending.values():
            self._release(tables)
        self._pending.clear()
        self.stats.buffered_rows = 0
        log.warning("spilled %d %s rows to %s", count, self.name, self._spill_file.name)

    def _replay(self) -> bool:
        """Store every spill file; False (files kept) if the database is still down."""
        for path in self.spill_files():
            try:
                for scope, table, rows in _read_spill(path):
                    self._write_or_isolate(scope, {table: rows})
                    self.stats.replayed_rows += len(rows)
            except _DOWN as e:
                self._down(e)
                return False
            if path == self._spill_file:
                self._spill_file = None
            path.unlink()
            log.info("replayed spill file %s", path.name)
        return True


def _spec(table: str) -> EventTable:
    return GAPS if table == GAPS.name else TABLES[table]


def _account_of(table: str, row: Row) -> Any:
    """The account a row names (its ``account_id`` column), or None for market data."""
    columns = () if table == QUARANTINE else _spec(table).columns
    return row[columns.index("account_id")] if "account_id" in columns else None


def _store(conn: psycopg.Connection, table: str, rows: list[Row]) -> int:
    if table == QUARANTINE:
        for account_id, source, topic, payload, error, exchange_ts, local_ts in rows:
            quarantine(conn, source=source, payload=payload, error=error, local_ts=local_ts,
                       topic=topic, exchange_ts=exchange_ts, account_id=account_id)
        return len(rows)
    return copy_events(conn, _spec(table), rows).inserted


# -- spill file codec: JSON with tagged types, exact for Decimal, time and UUID ------------

def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, UUID):
        return ["u", str(value)]
    if isinstance(value, (dict, list)):
        return ["j", value]
    return value


def _decode(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    tag, body = value
    if tag == "d":
        return Decimal(body)
    if tag == "t":
        return datetime.fromisoformat(body)
    if tag == "u":
        return UUID(body)
    return body


def _read_spill(path: Path) -> Iterator[tuple[Scope, str, list[Row]]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut short by a crash mid-write
                log.error("spill file %s: skipping a truncated line", path.name)
                continue
            scope = None if entry["s"] is None else UUID(entry["s"])
            yield scope, entry["t"], [tuple(_decode(v) for v in row) for row in entry["r"]]
