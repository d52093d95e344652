"""``gridbot trade``: the orchestrator that owns accounts and keeps one worker per account.

What to trade is read from the database at start, every ``refresh_interval_s`` and on
SIGHUP: enabled accounts of the environment with an active credential, and their enabled
strategies. An account is traded only while this daemon holds its lease (an advisory lock,
:mod:`daemons.trading.leases`): every ``lease_poll_s`` the daemon checks that its lease
session is alive (if not, it stops every worker at once: fail closed) and tries to lease the
enabled accounts nobody holds, so the accounts of a daemon that died are taken over within
one poll after PostgreSQL ends its session.

Per account a worker (:mod:`daemons.trading.worker`); a new credential, a changed strategy
set or a strategy's cleared latch restarts that worker only. A worker whose breaker gives
up puts its account in ``error`` (``gridbot accounts enable`` clears it), alerts, and gives
the lease back. Every private row, journal entry and decision goes through one batched
writer with a spill file, so a database outage loses nothing.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemons.bybit.endpoints import Endpoints
from daemons.bybit.ratelimit import RateLimiter, RateLimits
from daemons.db.event_writer import EventWriter, WriterConfig
from daemons.db.session import Database
from daemons.lifecycle import RunUntilStopped
from daemons.status_file import stamp, write_status
from daemons.trading.alerts import Alert, AlertSender
from daemons.trading.config import WorkerConfig
from daemons.trading.health import HealthServer
from daemons.trading.leases import LeaseHolder
from daemons.trading.market import MarketFeed
from daemons.trading.runtime import StrategyRuntime
from daemons.trading.worker import AccountSpec, AccountWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TradeTargets:
    """What the database says to trade, and the enabled accounts that cannot be (reasons)."""

    accounts: tuple[AccountSpec, ...]
    refused: tuple[tuple[str, str], ...] = ()


Discover = Callable[[Sequence[AccountSpec]], TradeTargets]


@dataclass(frozen=True, slots=True)
class TradeConfig:
    """Everything tunable about the daemon (the CLI's options)."""

    refresh_interval_s: float = 60.0
    lease_poll_s: float = 2.0
    status_interval_s: float = 1.0
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    writer: WriterConfig = field(default_factory=WriterConfig)
    alert_webhook: str | None = None
    alert_throttle_s: float = 300.0
    #: Loopback port of /healthz and /metrics (0: any free port; None: no endpoint).
    health_port: int | None = None

    def __post_init__(self) -> None:
        for name in ("refresh_interval_s", "lease_poll_s", "status_interval_s"):
            value = getattr(self, name)
            if not 0 < value < math.inf:
                raise ValueError(f"trade: {name} must be positive and finite, got {value}")


def default_daemon_id() -> str:
    """Host, pid and a random part: unique among daemons sharing a database."""
    return f"{socket.gethostname()[:24]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class TradeDaemon(RunUntilStopped):
    """The trading process's parts, wired; :meth:`run` is the whole lifetime."""

    def __init__(self, db: Database, endpoints: Endpoints, discover: Discover, home: Path, *,
                 lease_url: str, config: TradeConfig = TradeConfig(),
                 daemon_id: str | None = None, environment: str = "local") -> None:
        self.db = db
        self.endpoints = endpoints
        self.config = config
        self.environment = environment
        self.daemon_id = daemon_id or default_daemon_id()
        self.dir = Path(home) / "trade"
        self.status_path = self.dir / f"{self.daemon_id}.json"
        self.writer = EventWriter(db, self.dir / "spill" / self.daemon_id, config.writer,
                                  name="trade")
        self.leases = LeaseHolder(lease_url, self.daemon_id)
        self.market = MarketFeed(endpoints, ping_interval_s=config.worker.ping_interval_s)
        self.alerts = AlertSender(config.alert_webhook, throttle_s=config.alert_throttle_s)
        per_s = config.worker.ip_requests_per_s
        self.ip_limiter = RateLimiter(RateLimits(per_s, per_s))
        self.workers: dict[uuid.UUID, AccountWorker] = {}
        self.wanted: dict[uuid.UUID, AccountSpec] = {}
        self.refused: tuple[tuple[str, str], ...] = ()
        self.errors: dict[str, str] = {}
        self._discover = discover
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._refresh_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False
        self.health: HealthServer | None = None

    def __repr__(self) -> str:
        return f"TradeDaemon({self.daemon_id}, accounts={len(self.workers)})"

    # -- lifetime --------------------------------------------------------------------------

    def start(self) -> TradeDaemon:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.writer.start()
        self._started = True
        if self.config.health_port is not None:
            self.health = HealthServer(self.snapshot, self.health_problems,
                                       port=self.config.health_port).start()
        self.refresh()
        self.poll_leases()
        for name, loop in (("trade-refresh", self._refresh_loop),
                           ("trade-leases", self._lease_loop),
                           ("trade-status", self._status_loop)):
            thread = threading.Thread(target=loop, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("trade daemon %s running: %d account(s) owned of %d enabled",
                 self.daemon_id, len(self.workers), len(self.wanted))
        return self

    def stop(self) -> None:
        """Stop every worker (last snapshots, runs closed), flush, release the leases."""
        if not self._started:
            return
        self._started = False
        self._stop.set()
        self._refresh_now.set()
        for thread in self._threads:
            thread.join(10)
        with self._lock:
            workers = list(self.workers.values())
            for worker in workers:
                worker._stop.set()
            for worker in workers:
                worker.stop()
            self.workers.clear()
        self.market.close()
        self.writer.close()
        self.leases.close()
        self.alerts.close()
        if self.health is not None:
            self.health.close()
        self._write_status()
        log.info("trade daemon %s stopped", self.daemon_id)

    # -- what to trade -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the targets; restart workers whose account changed, stop removed ones."""
        try:
            targets = self._discover(list(self.wanted.values()))
        except Exception as e:  # the database may be down: keep trading as we are
            log.warning("trade targets not refreshed (%s: %s)", type(e).__name__, e)
            return
        with self._lock:
            for name, reason in set(targets.refused) - set(self.refused):
                log.error("account %s is not traded: %s", name, reason)
            self.refused = targets.refused
            self.wanted = {a.account_id: a for a in targets.accounts}
            for account_id, worker in list(self.workers.items()):
                spec = self.wanted.get(account_id)
                if spec is None or spec != worker.account or not worker.alive:
                    why = "no longer enabled" if spec is None else \
                        "stopped" if not worker.alive else "changed"
                    self._stop_worker(account_id, why, release=spec is None)
            for account_id in set(self.wanted) & self.leases.held:
                if account_id not in self.workers:
                    self._start_worker(self.wanted[account_id])

    def poll_leases(self) -> None:
        """Keep the leases honest and take free accounts (see the module docstring)."""
        with self._lock:
            if not self.leases.check():
                for account_id in list(self.workers):
                    self._stop_worker(account_id, "lease connection lost", release=False)
            try:
                gained = self.leases.try_acquire(sorted(set(self.wanted) - set(self.workers)))
            except Exception as e:  # the database is down: nothing new is taken
                log.warning("leases not polled (%s)", type(e).__name__)
                return
            for account_id in gained:
                self._start_worker(self.wanted[account_id])

    def _start_worker(self, account: AccountSpec) -> None:
        worker = AccountWorker(account, db=self.db, sink=self.writer, endpoints=self.endpoints,
                               market=self.market, config=self.config.worker,
                               on_trip=self._on_trip, on_latch=self._on_latch,
                               shared_limiter=self.ip_limiter)
        self.workers[account.account_id] = worker
        self.errors.pop(account.name, None)
        worker.start()
        log.info("trading %s (%d strateg%s)", account.name, len(account.strategies),
                 "y" if len(account.strategies) == 1 else "ies")

    def _stop_worker(self, account_id: uuid.UUID, why: str, *, release: bool) -> None:
        worker = self.workers.pop(account_id, None)
        if worker is not None:
            worker.stop()
            log.info("stopped trading %s: %s", worker.account.name, why)
        if release:
            self.leases.release(account_id)

    # -- worker callbacks ----------------------------------------------------------------------

    def _on_trip(self, worker: AccountWorker, reason: str) -> None:
        """The account's breaker gave up: ``error`` state, alert, lease back."""
        name = worker.account.name
        self.errors[name] = reason
        try:
            with self.db.admin() as conn:
                conn.execute("UPDATE bybit_accounts SET status = 'error' WHERE account_id = %s",
                             [worker.account.account_id])
        except Exception as e:
            log.error("account %s: error state not stored (%s)", name, type(e).__name__)
        self.alerts.send(Alert("account-error", name, f"breaker gave up: {reason}"))
        threading.Thread(target=self._release_after, args=(worker,), daemon=True).start()

    def _release_after(self, worker: AccountWorker) -> None:
        worker.stop()
        with self._lock:
            if self.workers.get(worker.account.account_id) is worker:
                del self.workers[worker.account.account_id]
            self.wanted.pop(worker.account.account_id, None)
            self.leases.release(worker.account.account_id)

    def _on_latch(self, runtime: StrategyRuntime, reason: str) -> None:
        recorder = runtime.recorder
        try:
            with self.db.unit_of_work(recorder.user_id) as conn:
                conn.execute("UPDATE strategies SET latched_at = now(), latch_reason = %s"
                             " WHERE strategy_id = %s", [reason[:500], runtime.strategy_id])
        except Exception as e:
            log.error("strategy %s: latch not stored (%s)", runtime.strategy_id,
                      type(e).__name__)
        self.alerts.send(Alert("strategy-latched", f"strategy {runtime.strategy_id}", reason))

    # -- loops -------------------------------------------------------------------------------

    def _refresh_loop(self) -> None:
        while True:
            self._refresh_now.wait(self.config.refresh_interval_s)
            if self._stop.is_set():
                return
            self._refresh_now.clear()
            self.refresh()

    def _lease_loop(self) -> None:
        while not self._stop.wait(self.config.lease_poll_s):
            self.poll_leases()

    def _status_loop(self) -> None:
        while not self._stop.wait(self.config.status_interval_s):
            self._write_status()

    def health_problems(self) -> list[str]:
        """Why the daemon is unhealthy (empty when healthy), for ``/healthz``."""
        problems = []
        if not self._started:
            problems.append("not running")
        if not self.leases.check():
            problems.append("lease connection lost")
        if not self.writer.stats.db_up:
            problems.append("database unreachable (rows are kept and spilled)")
        return problems

    def snapshot(self) -> dict[str, Any]:
        """The status document (``gridbot trade status``)."""
        with self._lock:
            workers = list(self.workers.values())
        return {
            **stamp(), "daemon_id": self.daemon_id, "environment": self.environment,
            "health_port": self.health.port if self.health is not None else None,
            "accounts": [worker_status(w) for w in workers],
            "errors": [{"account": n, "reason": r} for n, r in self.errors.items()],
            "refused": [{"account": n, "reason": r} for n, r in self.refused],
            "writer": {"db_up": self.writer.stats.db_up, "buffered_rows": self.writer.backlog(),
                       "spilled_rows": self.writer.stats.spilled_rows},
            "alerts": {"sent": self.alerts.sent, "failed": self.alerts.failed},
        }

    def _write_status(self) -> None:
        try:
            write_status(self.status_path, self.snapshot())
        except OSError as e:
            log.warning("cannot write %s: %s", self.status_path, e)


def worker_status(worker: AccountWorker) -> dict[str, Any]:
    """One account's part of the status document."""
    latency = worker.latency
    strategies = []
    for runtime in list(worker.runtimes.values()):
        strategies.append({
            "strategy_id": runtime.strategy_id, "symbol": runtime.symbol, "mode": runtime.mode,
            "run_id": str(runtime.run_id), "decisions": runtime.decisions,
            "open_orders": len(runtime.engine.orders.orders),
            "last_event_ms": runtime.last_event_ms, "latched": runtime.latched,
            "refused_by_caps": runtime.refused_by_caps,
            "refused_flat_side": runtime.refused_flat_side})
    for strategy_id, reason in worker.strategy_errors.items():
        if strategy_id not in worker.runtimes:
            strategies.append({"strategy_id": strategy_id, "error": reason})
    stats = worker.executor.stats
    return {
        "account": worker.account.name, "account_id": str(worker.account.account_id),
        "state": worker.state, "reason": worker.reason, "breaker": worker.breaker.state.value,
        "breaker_error": worker.breaker.last_error, "events": worker.events,
        "backlog": worker.backlog,
        "last_event_ms": worker.last_event_ms,
        "orders": {"placed": stats.placed, "cancelled": stats.cancelled,
                   "rejected": stats.rejected, "rate_limited": stats.rate_limited,
                   "failures": stats.failures},
        "decision_ms": {"p50": latency.percentile(0.5), "p99": latency.percentile(0.99),
                        "count": latency.count},
        "request_ms": {"p50": worker.gateway.queued.percentile(0.5),
                       "p99": worker.gateway.queued.percentile(0.99),
                       "count": worker.gateway.queued.count},
        "strategies": strategies,
    }
