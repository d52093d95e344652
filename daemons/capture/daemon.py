"""``gridbot capture``: the public market and every account's private streams, into PostgreSQL.

Crash-only: starting and recovering are the same path. At start the daemon replays any
spill file a previous run left, reads where the stored data ends (the last trade per
symbol, the last execution per account), connects, and lets the reconciler fetch from
there what REST still has; gaps it cannot fill are recorded. Then it runs until SIGTERM
or Ctrl-C, and stops by closing the streams and flushing the writer (spilling to disk if
the database is down), so a clean stop loses nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from daemons.bybit.endpoints import Endpoints
from daemons.bybit.ratelimit import RateLimits
from daemons.bybit.rest import BybitRest
from daemons.bybit.streams import TradeMark, now_ms
from daemons.capture.private import PrivateCapture
from daemons.capture.public import PublicCapture
from daemons.capture.reconciler import ReconcileConfig, Reconciler
from daemons.capture.rows import ms
from daemons.capture.status import StatusBoard, write_status
from daemons.capture.targets import Targets
from daemons.capture.writer import CaptureWriter, WriterConfig
from daemons.db.session import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """Everything tunable about a capture run (defaults suit Bybit mainnet)."""

    public_stale_after_s: float = 10.0
    ping_interval_s: int = 20
    initial_lookback_s: int = 3600
    status_interval_s: float = 1.0
    ticker_gap_min_ms: int = 1000
    rest_limits: RateLimits = field(default_factory=RateLimits)
    rest_backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    writer: WriterConfig = field(default_factory=WriterConfig)
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)

    def __post_init__(self) -> None:
        if self.public_stale_after_s <= 0 or self.status_interval_s <= 0:
            raise ValueError("capture: public_stale_after_s and status_interval_s must be "
                             "positive")
        if self.ping_interval_s <= 0:
            raise ValueError("capture: ping_interval_s must be positive")


class CaptureDaemon:
    """The capture process's parts, wired; :meth:`run` is the whole lifetime."""

    def __init__(self, db: Database, endpoints: Endpoints, targets: Targets, home: Path,
                 config: CaptureConfig = CaptureConfig()) -> None:
        self.db = db
        self.config = config
        self.targets = targets
        self.dir = Path(home) / "capture"
        self.status_path = self.dir / "status.json"
        self.board = StatusBoard()
        self.writer = CaptureWriter(db, self.dir / "spill", config.writer)
        self.market_rest = BybitRest(endpoints, limits=config.rest_limits,
                                     backoff_s=config.rest_backoff_s)
        self.reconciler = Reconciler(self.writer, self.board, self.market_rest,
                                     targets.symbols, config.reconcile)
        self.public = PublicCapture(
            endpoints, targets.symbols, self.writer, self.board, self.reconciler,
            stale_after_s=config.public_stale_after_s, ping_interval_s=config.ping_interval_s,
            ticker_gap_min_ms=config.ticker_gap_min_ms) if targets.symbols else None
        self.accounts = [
            PrivateCapture(t, endpoints, self.writer, self.board, self.reconciler,
                           ping_interval_s=config.ping_interval_s, limits=config.rest_limits,
                           backoff_s=config.rest_backoff_s)
            for t in targets.accounts]
        self.reconciler.accounts = self.accounts
        self._stop = threading.Event()
        self._started = False

    def __repr__(self) -> str:
        return (f"CaptureDaemon(symbols={list(self.targets.symbols)}, "
                f"accounts={[a.name for a in self.targets.accounts]})")

    # -- lifetime ----------------------------------------------------------------------------

    def start(self) -> CaptureDaemon:
        """Replay spills, find where stored data ends, connect, start every thread."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.writer.start()
        self._resume_points()
        self.reconciler.start()
        streams = ([self.public.stream] if self.public else []) + \
            [a.stream for a in self.accounts]
        for stream in streams:
            stream.start()
        self._status_thread = threading.Thread(target=self._status_loop, name="capture-status",
                                               daemon=True)
        self._status_thread.start()
        self._started = True
        log.info("capture running: %d symbol(s) %s, %d account(s)", len(self.targets.symbols),
                 ", ".join(self.targets.symbols), len(self.accounts))
        return self

    def stop(self) -> None:
        """Close streams, finish reconciling, flush (or spill) every row."""
        if not self._started:
            return
        self._started = False
        self._stop.set()
        for stream in ([self.public.stream] if self.public else []) + \
                [a.stream for a in self.accounts]:
            stream.close()
        self.reconciler.close()
        self.writer.close()
        self._status_thread.join(5)
        self._write_status()
        log.info("capture stopped: %d rows buffered at exit, %d spilled in total",
                 self.writer.backlog(), self.writer.stats.spilled_rows)

    def run(self, stop: threading.Event) -> None:
        """Start, wait for ``stop`` (set by the signal handlers), stop."""
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()

    # -- internals -----------------------------------------------------------------------------

    def _resume_points(self) -> None:
        """Where stored data ends: the reconciler fetches from there after connecting."""
        with self.db.market_data() as conn:
            for symbol in self.targets.symbols:
                row = conn.execute(
                    "SELECT exchange_ts, trade_id FROM public_trades WHERE symbol = %s"
                    " ORDER BY exchange_ts DESC, trade_id DESC LIMIT 1", [symbol]).fetchone()
                if row is not None and self.public is not None:
                    self.public.resume_from(symbol, TradeMark(ms(row[0]), row[1], -1))
        lookback_ms = self.config.initial_lookback_s * 1000
        for account in self.accounts:
            with self.db.unit_of_work(account.target.user_id) as conn:
                row = conn.execute("SELECT max(exchange_ts) FROM private_executions"
                                   " WHERE account_id = %s", [account.target.account_id]
                                   ).fetchone()
            if row[0] is not None:
                account.resume_ms = ms(row[0])
            else:
                account.resume_ms = now_ms() - lookback_ms

    def snapshot(self) -> dict:
        connections = {}
        for stream in ([self.public.stream] if self.public else []) + \
                [a.stream for a in self.accounts]:
            connections[stream.name] = {"reconnects": stream.stats.reconnects,
                                        "connected": stream.is_connected()}
        stats = self.writer.stats
        lags = sorted(stats.lags_ms)
        writer = {"db_up": stats.db_up, "buffered_rows": self.writer.backlog(),
                  "spilled_rows": stats.spilled_rows, "replayed_rows": stats.replayed_rows,
                  "spill_files": len(self.writer.spill_files()), "batches": stats.batches,
                  "quarantined_rows": stats.quarantined,
                  "inserted": dict(stats.inserted),
                  "lag_p99_ms": lags[int(len(lags) * 0.99)] if lags else None}
        return self.board.snapshot(connections, writer, self.writer.backlog_by_table())

    def _write_status(self) -> None:
        try:
            write_status(self.status_path, self.snapshot())
        except OSError as e:
            log.warning("cannot write %s: %s", self.status_path, e)

    def _status_loop(self) -> None:
        while not self._stop.wait(self.config.status_interval_s):
            self._write_status()


@contextmanager
def single_instance(home: Path) -> Iterator[None]:
    """Hold ``$GRIDBOT_HOME/capture/daemon.lock``: one capture daemon per home (spill files)."""
    directory = Path(home) / "capture"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(directory / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another capture daemon is running with {home}") from None
        yield
    finally:
        os.close(fd)
