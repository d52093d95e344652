"""One account's worker: its private stream, REST client, breaker and strategies.

A worker is a thread with one queue. The account's private stream and the daemon's market
feed put events on it; the thread takes them one by one, in arrival order, and feeds the
strategies that trade the event's symbol. So each engine sees one ordered stream of events,
no lock is needed around an engine, and a slow or failing account never holds up another
(its own queue, its own rate limiter, its own circuit breaker).

Crash-only: starting and recovering are the same path (:mod:`daemons.trading.recovery`):
read the exchange (instruments, open orders, positions, wallet, executions since the last
snapshot), restore each engine, start a run, then trade. If the exchange cannot be read the
worker places nothing and says why (fail closed), and tries again after the breaker's
back-off. A breaker that gives up puts the account in ``error`` (the orchestrator records
it, alerts, and releases the account) until an operator enables it again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from daemons.bybit import private
from daemons.bybit.endpoints import Endpoints
from daemons.bybit.ratelimit import RateLimiter
from daemons.bybit.rest import BybitRest
from daemons.bybit.streams import Stream
from daemons.db import event_rows as rows
from daemons.db.session import Database
from daemons.db.targets import AccountTarget as AccountSpec
from daemons.trading.breaker import BreakerState, CircuitBreaker
from daemons.trading.config import WorkerConfig
from daemons.trading.executor import LiveExecutor
from daemons.trading.gateways import LatencyLog, LiveGateway
from daemons.trading.market import MarketEvent, MarketFeed
from daemons.trading.records import RowSink
from daemons.trading.recovery import RecoveryError, catch_up, recover
from daemons.trading.runtime import SHADOW, StrategyRuntime
from gridcore.events import (
    Event,
    ExecutionEvent,
    WalletEvent,
)

log = logging.getLogger(__name__)

#: Execution ids remembered to drop the ones REST and the stream both deliver.
SEEN_EXECUTIONS = 20_000


class AccountWorker:
    """The thread that trades one account; see the module docstring."""

    def __init__(self, account: AccountSpec, *, db: Database, sink: RowSink,
                 endpoints: Endpoints, market: MarketFeed, config: WorkerConfig,
                 on_trip: Callable[[AccountWorker, str], None],
                 on_latch: Callable[[StrategyRuntime, str], None],
                 shared_limiter: RateLimiter | None = None) -> None:
        self.account = account
        self.db = db
        self.sink = sink
        self.endpoints = endpoints
        self.market = market
        self.config = config
        self._on_trip = on_trip
        self.on_latch = on_latch
        self.breaker = CircuitBreaker(config.breaker)
        self.rest = BybitRest(endpoints, account.api_key, account.secret,
                              limits=config.rest_limits, backoff_s=config.query_backoff_s,
                              shared_limiter=shared_limiter)
        self.executor = LiveExecutor(self.rest, self.breaker)
        self.latency = LatencyLog()
        self.gateway = LiveGateway(self.executor, self.latency)
        self.runtimes: dict[int, StrategyRuntime] = {}
        self.by_symbol: dict[str, list[StrategyRuntime]] = {}
        self.strategy_errors: dict[int, str] = {}
        self.state = "starting"
        self.reason = ""
        self.events = 0
        self.last_event_ms = 0
        self._queue: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"trade:{account.name}",
                                        daemon=True)
        self._seen_exec: OrderedDict[str, None] = OrderedDict()
        self._next_snapshot = 0.0
        self.private = Stream(f"trade:{account.name}", endpoints.ws_private, self._on_private,
                              on_connect=self._on_private_connect,
                              api_key=account.api_key, api_secret=account.secret,
                              ping_interval_s=config.ping_interval_s)
        self._private_ms = 0
        self.catch_ups = 0

    def __repr__(self) -> str:
        return f"AccountWorker({self.account.name}, {self.state})"

    # -- lifetime ----------------------------------------------------------------------------

    def start(self) -> AccountWorker:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish: a last snapshot and run end for every strategy, then close the streams."""
        self._stop.set()
        self._queue.put(("stop",))
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def backlog(self) -> int:
        """Events received but not handled yet: a worker falling behind its streams shows
        here first, long before its decisions go stale."""
        return self._queue.qsize()

    def _run(self) -> None:
        try:
            self.private.subscribe(list(private.TOPICS))
            self.private.start()
            if not self._recover_until_done():
                return
            for symbol, runtimes in self.by_symbol.items():
                self.market.subscribe(symbol, self._on_market,
                                      trades=any(r.mode == SHADOW for r in runtimes))
            self.state = "running"
            self._next_snapshot = time.monotonic() + self.config.snapshot_interval_s
            self._loop()
        except Exception as e:  # the boundary: one account's bug never reaches another
            self.state, self.reason = "failed", f"{type(e).__name__}: {e}"
            log.exception("worker of %s failed", self.account.name)
        finally:
            self.market.unsubscribe(self._on_market)
            self.private.close()
            self._finish_runs()

    def _recover_until_done(self) -> bool:
        """Recover, retrying on the breaker's schedule; False if stopped or tripped."""
        while not self._stop.is_set():
            self.state = "recovering"
            try:
                recovered = recover(self)
            except RecoveryError as e:
                self.state, self.reason = "blocked", str(e)
                log.error("%s places nothing: %s", self.account.name, e)
                if self.breaker.failure(str(e)) is BreakerState.TRIPPED:
                    self._trip(str(e))
                    return False
                self._stop.wait(max(1.0, self.breaker.seconds_to_probe()))
                continue
            self.breaker.success()
            self.runtimes = {r.strategy_id: r for r in recovered}
            self.by_symbol = {}
            for runtime in recovered:
                self.by_symbol.setdefault(runtime.symbol, []).append(runtime)
            self.reason = ""
            return True
        return False

    def _trip(self, reason: str) -> None:
        self.state, self.reason = "error", reason
        self._stop.set()
        self._on_trip(self, reason)

    def _finish_runs(self) -> None:
        for runtime in self.runtimes.values():
            try:
                runtime.release_trades()
            except Exception as e:  # its run is still closed below
                log.warning("held trades of strategy %s not stepped (%s)", runtime.strategy_id,
                            type(e).__name__)
            try:
                if runtime.mode == SHADOW or self.state != "error":
                    runtime.snapshot()
                runtime.recorder.finish("failed" if self.state in ("error", "failed")
                                        else "stopped")
            except Exception as e:  # the database may be down: the next start recovers
                log.warning("run %s of %s not closed (%s)", runtime.run_id, self.account.name,
                            type(e).__name__)

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.25)
            except queue.Empty:
                item = None
            if item is not None:
                if item[0] == "stop":
                    return
                if item[0] == "market":
                    self._market(item[1], item[2], item[3])
                elif item[0] == "reconnected":
                    self._catch_up()
                else:
                    self._private_message(item[1], item[2], item[3])
            self._duties()

    def _duties(self) -> None:
        """Between events: trades held too long for their ticker, snapshot requests, and
        the breaker's probe."""
        for runtime in self.runtimes.values():
            runtime.release_trades(overdue_only=True)
        if self.state == "running" and time.monotonic() >= self._next_snapshot:
            self._next_snapshot = time.monotonic() + self.config.snapshot_interval_s
            for runtime in self.runtimes.values():
                runtime.want_snapshot()
        if self.breaker.state is BreakerState.OPEN and self.breaker.allows():
            self.state = "probing"
            if self.executor.probe():
                log.info("%s: exchange answers again; resynchronising", self.account.name)
                self._resync()
            elif self.breaker.state is BreakerState.TRIPPED:
                self._trip(self.breaker.last_error)
            return
        if self.breaker.state is BreakerState.TRIPPED:
            self._trip(self.breaker.last_error)

    def _resync(self) -> None:
        """After an outage: read the exchange again and restore every engine from it."""
        for runtime in self.runtimes.values():
            runtime.release_trades()
            runtime.snapshot()
            runtime.recorder.finish("stopped")
        self.runtimes, self.by_symbol = {}, {}
        if self._recover_until_done():
            self.state = "running"

    # -- events ------------------------------------------------------------------------------

    def _on_market(self, event: MarketEvent, received_ns: int, seen: int) -> None:
        self._queue.put(("market", event, received_ns, seen))

    def _on_private(self, message: dict[str, Any], local_ms: int) -> None:
        self._queue.put(("private", message, local_ms, time.perf_counter_ns()))

    def _on_private_connect(self, count: int) -> None:
        if count > 1:  # events of the outage are not replayed by the exchange
            self._queue.put(("reconnected",))

    def _catch_up(self) -> None:
        """Read what the private stream missed while it was down (by REST)."""
        since = max(0, (self._private_ms or int(time.time() * 1000)) - 1000)
        try:
            catch_up(self, since)
            self.catch_ups += 1
        except RecoveryError as e:
            log.warning("%s: catch-up after reconnect failed (%s); resynchronising",
                        self.account.name, e)
            self.breaker.failure(str(e))

    def _market(self, event: MarketEvent, received_ns: int, seen: int) -> None:
        self.events += 1
        self.last_event_ms = event.exchange_ts
        step = self.breaker.allows()
        for runtime in self.by_symbol.get(event.symbol, ()):
            runtime.on_market(event, seen, received_ns, step=step)

    def _private_message(self, message: dict[str, Any], local_ms: int, received_ns: int) -> None:
        self.events += 1
        self._private_ms = local_ms
        batch = self.decode_private(message, local_ms)
        for decoded in batch.decoded:
            event = decoded.event
            runtimes = self._live_runtimes_for(event)
            run_id = runtimes[0].run_id if len(runtimes) == 1 else None
            self.sink.put(self.account.user_id, rows.PRIVATE_TABLES[batch.topic],
                          rows.private_rows(event, decoded.extras, decoded.item,
                                            self.account.account_id, run_id))
            if isinstance(event, ExecutionEvent) and not self._first_time(event.exec_id):
                continue
            self.last_event_ms = max(self.last_event_ms, event.exchange_ts)
            for runtime in runtimes:
                runtime.on_private(event, received_ns)

    def _live_runtimes_for(self, event: Event) -> list[StrategyRuntime]:
        if isinstance(event, WalletEvent):
            return [r for r in self.runtimes.values() if r.mode != SHADOW]
        return [r for r in self.by_symbol.get(event.symbol, ()) if r.mode != SHADOW]

    def _first_time(self, exec_id: str) -> bool:
        if exec_id in self._seen_exec:
            return False
        self._seen_exec[exec_id] = None
        if len(self._seen_exec) > SEEN_EXECUTIONS:
            self._seen_exec.popitem(last=False)
        return True

    def feed_recovered(self, runtime: StrategyRuntime, events: list[Event]) -> None:
        """Feed what recovery read from the exchange; an execution this worker already
        fed (the stream and REST both deliver it) is not fed twice."""
        for event in events:
            if isinstance(event, ExecutionEvent) and not self._first_time(event.exec_id):
                continue
            runtime.feed(event, 0)

    def decode_private(self, message: dict[str, Any], local_ms: int) -> private.Batch:
        """The linear events of a private message; a bad item is logged and skipped
        (capture quarantines it), another market's dropped."""
        batch = private.decode_message(message, local_ms)
        if batch.error is not None and batch.topic in private.TOPICS:
            log.warning("%s: private %s message refused (%s)", self.account.name, batch.topic,
                        batch.error)
        for refused in batch.refused:
            log.warning("%s: private %s item refused (%s)", self.account.name, batch.topic,
                        refused.reason)
        return batch
