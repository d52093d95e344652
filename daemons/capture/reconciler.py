"""The reconciler: fills capture gaps from REST, and records the gaps it cannot fill.

Triggers: a reconnect or a jump in a trade sequence (from the stream handlers), the
daemon's start (from the last stored event on), and a timer. One thread works a queue of
due tasks, so REST calls never block a stream's thread.

* Public trades: ``/v5/market/recent-trade`` (the newest 1,000; Bybit offers no cursor and
  no time filter). If the answer reaches back to the last trade seen before the gap, the
  gap is filled; otherwise the trades between that trade and the oldest one REST still
  has are lost, and the gap is recorded unfilled with that window.
* Private: executions by cursor for the gap's window (plus a margin), order history pages
  newest first, fresh position and wallet snapshots.
* Funding: the settled rates of ``/v5/market/funding/history`` (Bybit has no funding
  topic; the ticker carries the current rate and next funding time).

Every gap detected is written to ``capture_gaps`` (window, reason, filled, rows
recovered), filled or not; nothing is silently ignored. Everything fetched goes through
the writer, whose natural keys drop what the stream already delivered.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from daemons.bybit import parsing
from daemons.bybit.errors import BybitError, FatalError
from daemons.bybit.rest import BybitRest
from daemons.bybit.streams import TradeGap, now_ms
from daemons.capture import rows
from daemons.capture.status import StatusBoard
from daemons.capture.writer import CaptureWriter

if TYPE_CHECKING:
    from daemons.capture.private import PrivateCapture

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    interval_s: float = 60.0
    private_settle_s: float = 0.5
    margin_ms: int = 5_000
    order_lookback_ms: int = 3_600_000
    retries: int = 5
    retry_base_s: float = 1.0


def record_gap(writer: CaptureWriter, board: StatusBoard, status_name: str, *,
               stream: str, symbol: str | None, start_ms: int, end_ms: int, reason: str,
               filled: bool, rows_recovered: int = 0, detail: str | None = None,
               user_id: UUID | None = None, account_id: UUID | None = None) -> None:
    """Write one ``capture_gaps`` row (through the writer) and count it in the status."""
    row = rows.gap(uuid.uuid4(), stream=stream, symbol=symbol, start_ms=start_ms,
                   end_ms=end_ms, reason=reason, filled=filled, rows_recovered=rows_recovered,
                   detail=detail, account_id=account_id)
    writer.put(user_id, rows.GAPS.name, [row])
    board.gap(status_name, filled)
    level = logging.INFO if filled else logging.ERROR
    log.log(level, "%s gap %s (%s), %d ms, %s: %s", stream, symbol or "", reason,
            end_ms - start_ms, "filled" if filled else "NOT FILLED", detail or "")


class Reconciler:
    """Runs gap-filling tasks on its own thread; see the module docstring."""

    def __init__(self, writer: CaptureWriter, board: StatusBoard, market: BybitRest,
                 symbols: tuple[str, ...], config: ReconcileConfig = ReconcileConfig()) -> None:
        self.writer = writer
        self.board = board
        self.market = market
        self.symbols = symbols
        self.config = config
        self.accounts: list[PrivateCapture] = []
        self._tasks: list[tuple[float, int, str, Callable[[int], None], int]] = []
        self._numbers = itertools.count()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture-reconciler", daemon=True)
        self._periodic_from_ms = now_ms()
        self.completed = 0

    # -- scheduling (any thread) -------------------------------------------------------------

    def schedule(self, name: str, task: Callable[[int], None], delay_s: float = 0.0,
                 attempt: int = 0) -> None:
        with self._cond:
            heapq.heappush(self._tasks, (time.monotonic() + delay_s, next(self._numbers), name,
                                         task, attempt))
            self._cond.notify()

    def public_gap(self, gap: TradeGap) -> None:
        self.schedule(f"trades {gap.symbol}", lambda _: self.fill_trades(gap))

    def private_gap(self, account: PrivateCapture, start_ms: int, reason: str,
                    gap_end_ms: int | None = None) -> None:
        self.schedule(f"private {account.target.name}",
                      lambda _: self.fill_private(account, start_ms, reason, gap_end_ms),
                      self.config.private_settle_s)

    def start(self) -> Reconciler:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        self._thread.join(10)

    def idle(self) -> bool:
        with self._cond:
            return not self._tasks and not self._busy

    # -- the thread ----------------------------------------------------------------------------

    _busy = False

    def _run(self) -> None:
        next_periodic = time.monotonic() + self.config.interval_s
        while not self._stop.is_set():
            with self._cond:
                now = time.monotonic()
                if now >= next_periodic:
                    next_periodic = now + self.config.interval_s
                    heapq.heappush(self._tasks, (now, next(self._numbers), "periodic",
                                                 lambda _: self.periodic(), 0))
                if not self._tasks or self._tasks[0][0] > now:
                    wake = min(next_periodic, self._tasks[0][0] if self._tasks else next_periodic)
                    self._cond.wait(max(wake - now, 0.001))
                    continue
                _, _, name, task, attempt = heapq.heappop(self._tasks)
                self._busy = True
            try:
                task(attempt)
                self.completed += 1
            except FatalError as e:
                log.error("reconcile %s: %s (not retried)", name, e)
            except Exception as e:  # retried with backoff; the thread never dies
                if attempt + 1 >= self.config.retries:
                    log.error("reconcile %s failed for good: %s", name, e)
                else:
                    log.warning("reconcile %s failed (%s); retrying", name, e)
                    self.schedule(name, task, self.config.retry_base_s * 2 ** attempt,
                                  attempt + 1)
            finally:
                with self._cond:
                    self._busy = False

    # -- public trades -------------------------------------------------------------------------

    def fetch_trades(self, symbol: str) -> list:
        """Store the newest 1,000 trades of ``symbol``; return them as events."""
        page = self.market.recent_trades(symbol)
        local = now_ms()
        events, batch = [], []
        for item in page.rows:
            try:
                event = parsing.recent_trade(item, local)
            except parsing.ParseError as e:
                self.writer.put(None, rows.QUARANTINE, [(
                    None, "rest.recent-trade", symbol, _json(item), str(e), None, rows.ts(local))])
                continue
            events.append(event)
            batch.append(rows.public_trade(event, parsing.is_block_trade(item)))
        self.writer.put(None, "public_trades", batch)
        return events

    def fill_trades(self, gap: TradeGap) -> None:
        events = self.fetch_trades(gap.symbol)
        before, after = gap.before, gap.after
        covered = any(e.trade_id == before.trade_id for e in events)
        oldest = min(events, key=lambda e: (e.exchange_ts, e.seq), default=None)
        if oldest is not None and not covered:
            covered = oldest.exchange_ts < before.ts_ms or (
                before.seq > 0 and 0 < oldest.seq <= before.seq + 1)
        recovered = sum(1 for e in events if before.ts_ms <= e.exchange_ts <= after.ts_ms
                        and e.trade_id not in (before.trade_id, after.trade_id))
        detail = None
        start = before.ts_ms
        end = after.ts_ms
        if not covered:
            end = oldest.exchange_ts if oldest is not None else after.ts_ms
            detail = (f"recent-trade reaches back only {len(events)} trades; trades after "
                      f"{before.trade_id} up to the oldest returned are lost")
        record_gap(self.writer, self.board, f"public/publicTrade.{gap.symbol}",
                   stream="publicTrade", symbol=gap.symbol, start_ms=start, end_ms=end,
                   reason=gap.reason, filled=covered, rows_recovered=recovered, detail=detail)

    def fetch_funding(self, symbol: str) -> None:
        page = self.market.funding_history(symbol)
        local = now_ms()
        batch = []
        for item in page.rows:
            try:
                batch.append(rows.funding(parsing.funding(item, local)))
            except parsing.ParseError as e:
                self.writer.put(None, rows.QUARANTINE, [(
                    None, "rest.funding", symbol, _json(item), str(e), None, rows.ts(local))])
        self.writer.put(None, "funding_rates", batch)

    # -- private ---------------------------------------------------------------------------------

    def fill_private(self, account: PrivateCapture, start_ms: int, reason: str,
                     gap_end_ms: int | None = None) -> None:
        """Fetch the account's executions, orders, positions and wallet since ``start_ms``."""
        if account.closed:
            return
        target = account.target
        rest = account.rest
        scope = target.user_id
        start = start_ms - self.config.margin_ms
        end = now_ms() + self.config.margin_ms
        local = now_ms()
        executions = [account.execution_row(item, local, "rest.execution")
                      for item in rest.executions(start, end)]
        executions = [r for r in executions if r is not None]
        self.writer.put(scope, "private_executions", executions)
        orders = []
        for item, _ in rest.order_history():
            row = account.order_row(item, local, "rest.order")
            if row is not None:
                orders.append(row)
            created = item.get("createdTime") if isinstance(item, dict) else None
            if isinstance(created, str) and created.isdigit() and \
                    int(created) < start - self.config.order_lookback_ms:
                break
        self.writer.put(scope, "orders", orders)
        page = rest.positions()
        self.writer.put(scope, "positions", [
            r for r in (account.position_row(item, local, page.time_ms, "rest.position")
                        for item in page.rows) if r is not None])
        page = rest.wallet()
        wallets = []
        for item in page.rows:
            wallets.extend(account.wallet_rows(item, page.time_ms, local, "rest.wallet"))
        self.writer.put(scope, "wallets", wallets)
        if reason in ("reconnect", "stale", "startup-resume"):
            record_gap(self.writer, self.board, f"{target.label}/execution", stream="private",
                       symbol=None, start_ms=start_ms, end_ms=gap_end_ms or local, reason=reason,
                       filled=True, rows_recovered=len(executions), user_id=scope,
                       account_id=target.account_id,
                       detail=f"{len(executions)} executions, {len(orders)} orders fetched")

    # -- the timer ------------------------------------------------------------------------------

    def periodic(self) -> None:
        """Refresh what REST can confirm: trades, funding, each account's recent window."""
        since = self._periodic_from_ms
        self._periodic_from_ms = now_ms()
        for symbol in self.symbols:
            self._guard(f"trades {symbol}", lambda s=symbol: self.fetch_trades(s))
            self._guard(f"funding {symbol}", lambda s=symbol: self.fetch_funding(s))
        for account in self.accounts:
            self._guard(f"private {account.target.name}",
                        lambda a=account: self.fill_private(a, since, "periodic"))

    def _guard(self, name: str, action: Callable[[], object]) -> None:
        try:
            action()
        except BybitError as e:
            log.warning("periodic reconcile %s: %s", name, e)


def _json(item: object) -> str:
    import json

    try:
        return json.dumps(item)
    except (TypeError, ValueError):
        return repr(item)
