"""``gridbot capture``: the public market and every account's private streams, into PostgreSQL.

Crash-only: starting and recovering are the same path. At start the daemon replays any
spill file a previous run left, reads where the stored data ends (the last trade per
symbol, the last execution per account), connects, and lets the reconciler fetch from
there what REST still has; gaps it cannot fill are recorded. Then it runs until SIGTERM
or Ctrl-C, and stops by closing the streams and flushing the writer (spilling to disk if
the database is down), so a clean stop loses nothing.

While it runs, what to capture is read again every ``refresh_interval_s`` and on SIGHUP:
a new symbol is subscribed on the public connection, a newly enabled account gets its
streams (resuming from its stored executions, like at startup), and an account that was
disabled, or whose credential was rotated, is closed (and reopened with the new key).
A symbol no strategy trades any more stays captured until the next restart: public data
costs one subscription and is never wrong to have.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from daemons.bybit.endpoints import Endpoints
from daemons.bybit.ratelimit import RateLimits
from daemons.bybit.rest import BybitRest
from daemons.bybit.streams import Stream, TradeMark, now_ms
from daemons.capture.private import PrivateCapture
from daemons.capture.public import PublicCapture
from daemons.capture.reconciler import ReconcileConfig, Reconciler
from daemons.capture.status import StatusBoard
from daemons.db import captured
from daemons.db.event_writer import EventWriter, WriterConfig
from daemons.db.session import Database
from daemons.db.targets import AccountTarget, Targets
from daemons.lifecycle import RunUntilStopped
from daemons.status_file import write_status

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """Everything tunable about a capture run (defaults suit Bybit mainnet)."""

    public_stale_after_s: float = 10.0
    ping_interval_s: int = 20
    initial_lookback_s: int = 3600
    status_interval_s: float = 1.0
    refresh_interval_s: float = 60.0
    upkeep_interval_s: float = 6 * 3600.0
    ticker_gap_min_ms: int = 1000
    rest_limits: RateLimits = field(default_factory=RateLimits)
    rest_backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    writer: WriterConfig = field(default_factory=WriterConfig)
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)

    def __post_init__(self) -> None:
        # NaN or infinity would end the thread that waits on it, and the daemon run on
        # without it: refused like a negative value (NaN fails every comparison).
        if not all(0 < value < math.inf for value in (
                self.public_stale_after_s, self.status_interval_s, self.refresh_interval_s,
                self.upkeep_interval_s)):
            raise ValueError("capture: public_stale_after_s, status_interval_s, "
                             "refresh_interval_s and upkeep_interval_s must be positive "
                             "and finite")
        if self.ping_interval_s <= 0:
            raise ValueError("capture: ping_interval_s must be positive")


class CaptureDaemon(RunUntilStopped):
    """The capture process's parts, wired; :meth:`run` is the whole lifetime.

    ``discover`` reads the current targets, given the accounts captured now (whose
    credentials it need not decrypt again): ``targets.discover`` bound to the database,
    keyring and environment. Without it the targets given at construction never change.
    """

    def __init__(self, db: Database, endpoints: Endpoints, targets: Targets, home: Path,
                 config: CaptureConfig = CaptureConfig(),
                 discover: Callable[[Sequence[AccountTarget]], Targets] | None = None,
                 ) -> None:
        self.db = db
        self.config = config
        self.endpoints = endpoints
        self.dir = Path(home) / "capture"
        self.status_path = self.dir / "status.json"
        self.board = StatusBoard()
        self.writer = EventWriter(db, self.dir / "spill", config.writer, name="capture")
        self.market_rest = BybitRest(endpoints, limits=config.rest_limits,
                                     backoff_s=config.rest_backoff_s)
        self.reconciler = Reconciler(self.writer, self.board, self.market_rest,
                                     targets.symbols, config.reconcile)
        self.public = self._public(targets.symbols) if targets.symbols else None
        self.accounts = [self._private(t) for t in targets.accounts]
        self.reconciler.accounts = self.accounts
        self._discover = discover
        self.refused: tuple[tuple[str, str], ...] = ()
        self._note_refused(targets)
        self._stop = threading.Event()
        self._refresh_now = threading.Event()
        self._targets_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = False

    def __repr__(self) -> str:
        return f"CaptureDaemon(symbols={list(self.symbols)}, accounts={self.account_names})"

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.public.symbols if self.public else ()

    @property
    def account_names(self) -> list[str]:
        return [a.target.name for a in self.accounts]

    # -- lifetime ----------------------------------------------------------------------------

    def start(self) -> CaptureDaemon:
        """Replay spills, find where stored data ends, connect, start every thread."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._upkeep()  # partitions for the coming months before any row is written
        self.writer.start()
        if self.public is not None:
            for symbol, mark in self._resume_marks(self.symbols).items():
                self.public.resume_from(symbol, mark)
        for account in self.accounts:
            account.resume_ms = self._resume_ms(account.target)
        self.reconciler.start()
        for stream in self._streams():
            stream.start()
        self._started = True
        for name, loop in (("capture-status", self._status_loop),
                           ("capture-targets", self._refresh_loop)):
            self._threads.append(threading.Thread(target=loop, name=name, daemon=True))
            self._threads[-1].start()
        log.info("capture running: %d symbol(s) %s, %d account(s)", len(self.symbols),
                 ", ".join(self.symbols), len(self.accounts))
        return self

    def stop(self) -> None:
        """Close streams, finish reconciling, flush (or spill) every row."""
        if not self._started:
            return
        self._started = False
        self._stop.set()
        self._refresh_now.set()
        for thread in self._threads:
            thread.join(10)
        with self._targets_lock:  # an apply still running finishes first, then sees _stop
            if self.public:
                self.public.stream.close()
            for account in self.accounts:
                account.close()
        self.reconciler.close()
        self.writer.close()
        self._write_status()
        log.info("capture stopped: %d rows buffered at exit, %d spilled in total",
                 self.writer.backlog(), self.writer.stats.spilled_rows)

    def refresh(self) -> None:
        """Read the targets again and apply them; keep the current ones if that fails."""
        if self._discover is None:
            return
        try:
            self.apply(self._discover([a.target for a in self.accounts]))
        except Exception as e:  # the database may be down: capture goes on as it is
            log.warning("capture targets not refreshed (%s: %s)", type(e).__name__, e)

    def apply(self, targets: Targets) -> None:
        """Start what ``targets`` adds; stop accounts it drops or re-keys (module docstring).

        Every database read comes first, so a failure changes nothing; the next refresh
        tries again.
        """
        with self._targets_lock:
            if self._stop.is_set():
                return
            if not self._started:
                raise RuntimeError("capture: apply targets to a started daemon")
            added = tuple(s for s in targets.symbols if s not in self.symbols)
            marks = self._resume_marks(added)
            wanted = {t.account_id: t for t in targets.accounts}
            kept = []
            for account in self.accounts:
                target = wanted.get(account.target.account_id)
                if target is not None and target.credential_id == account.target.credential_id:
                    kept.append(account)
                    del wanted[target.account_id]
            resume = {t.account_id: self._resume_ms(t) for t in wanted.values()}
            self._note_refused(targets)
            if added:
                self._add_symbols(added, marks)
            for account in self.accounts:
                if account not in kept:
                    self._drop(account, account.target.account_id in wanted)
            started = [self._private(t) for t in wanted.values()]
            for account in started:
                account.resume_ms = resume[account.target.account_id]
            self.accounts = kept + started
            self.reconciler.accounts = self.accounts
            for account in started:
                account.stream.start()
                log.info("capture of %s started", account.target.name)

    # -- internals -----------------------------------------------------------------------------

    def _note_refused(self, targets: Targets) -> None:
        """Log each account that cannot be captured once, not at every refresh."""
        for name, reason in set(targets.refused) - set(self.refused):
            log.error("account %s is not captured: %s", name, reason)
        self.refused = targets.refused

    def _public(self, symbols: tuple[str, ...]) -> PublicCapture:
        config = self.config
        return PublicCapture(self.endpoints, symbols, self.writer, self.board, self.reconciler,
                             stale_after_s=config.public_stale_after_s,
                             ping_interval_s=config.ping_interval_s,
                             ticker_gap_min_ms=config.ticker_gap_min_ms)

    def _private(self, target: AccountTarget) -> PrivateCapture:
        config = self.config
        return PrivateCapture(target, self.endpoints, self.writer, self.board, self.reconciler,
                              ping_interval_s=config.ping_interval_s, limits=config.rest_limits,
                              backoff_s=config.rest_backoff_s)

    def _drop(self, account: PrivateCapture, rotated: bool) -> None:
        account.close()
        self.board.unregister(account.label)
        log.info("capture of %s stopped: %s", account.target.name,
                 "credential rotated" if rotated else "no longer enabled")

    def _add_symbols(self, symbols: tuple[str, ...], marks: dict[str, TradeMark]) -> None:
        first = self.public is None
        if self.public is None:
            self.public = self._public(())
        self.public.add_symbols(symbols, marks)
        if first:
            self.public.stream.start()
        self.reconciler.symbols = self.symbols
        log.info("capture of %s started", ", ".join(symbols))

    def _streams(self) -> list[Stream]:
        return ([self.public.stream] if self.public else []) + [a.stream for a in self.accounts]

    def _resume_marks(self, symbols: tuple[str, ...]) -> dict[str, TradeMark]:
        """Where stored trades end: the reconciler fetches from there after connecting."""
        marks = {}
        with self.db.market_data() as conn:
            for symbol in symbols:
                last = captured.last_trade(conn, symbol)
                if last is not None:
                    marks[symbol] = TradeMark(last[0], last[1], -1)
        return marks

    def _resume_ms(self, target: AccountTarget) -> int:
        """Where the account's stored executions end (or the initial lookback)."""
        with self.db.unit_of_work(target.user_id) as conn:
            last = captured.last_execution_ms(conn, target.account_id)
        return last if last is not None else now_ms() - self.config.initial_lookback_s * 1000

    def snapshot(self) -> dict:
        connections = {}
        for stream in self._streams():
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
        snapshot = self.board.snapshot(connections, writer, self.writer.backlog_by_table())
        snapshot["refused"] = [{"account": name, "reason": reason}
                               for name, reason in self.refused]
        return snapshot

    def _write_status(self) -> None:
        try:
            write_status(self.status_path, self.snapshot())
        except OSError as e:
            log.warning("cannot write %s: %s", self.status_path, e)

    def _status_loop(self) -> None:
        while not self._stop.wait(self.config.status_interval_s):
            self._write_status()

    def _refresh_loop(self) -> None:
        upkeep_at = time.monotonic() + self.config.upkeep_interval_s
        while True:
            self._refresh_now.wait(self.config.refresh_interval_s)
            if self._stop.is_set():
                return
            self._refresh_now.clear()
            self.refresh()
            if time.monotonic() >= upkeep_at:
                upkeep_at = time.monotonic() + self.config.upkeep_interval_s
                self._upkeep()

    def _upkeep(self) -> None:
        """Partitions ahead and rotated-key purge for a daemon that runs for months."""
        try:
            self.db.upkeep()
        except Exception as e:  # the database may be down: try again next time
            log.warning("database upkeep skipped (%s: %s)", type(e).__name__, e)


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
