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

One bad row costs that row: it is quarantined and counted, and the rest of its page and
of the reconcile go on. A request that fails (an error, or an answer whose envelope is
malformed) costs that request: it is logged, the other requests of the task still run,
and a failed execution fetch makes the task fail afterwards, so that it is retried and
its gap is not recorded as filled.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from daemons.bybit import fields, parsing
from daemons.bybit import items as decode
from daemons.bybit.errors import FatalError
from daemons.bybit.rest import BybitRest, Page
from daemons.bybit.streams import TradeGap, now_ms
from daemons.capture.status import StatusBoard
from daemons.db import event_rows as rows
from daemons.db.event_writer import EventWriter
from daemons.db.targets import AccountTarget

log = logging.getLogger(__name__)


class PrivateAccount(Protocol):
    """What the reconciler needs of one account's capture (``capture.private``, which
    imports this module, so the reconciler names the parts it uses instead)."""

    target: AccountTarget
    label: str
    rest: BybitRest
    closed: bool

    def page_rows(self, topic: str, page: Page, local_ms: int) -> list[rows.Row]: ...


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    interval_s: float = 60.0
    private_settle_s: float = 0.5
    margin_ms: int = 5_000
    order_lookback_ms: int = 3_600_000
    retries: int = 5
    retry_base_s: float = 1.0


def record_gap(writer: EventWriter, board: StatusBoard, status_name: str, *,
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


def quarantine(writer: EventWriter, board: StatusBoard, name: str | None, *, source: str,
               topic: str | None, payload: Any, error: str, local_ms: int,
               user_id: UUID | None = None, account_id: UUID | None = None) -> None:
    """Store one refused item or frame verbatim in ``raw_quarantine`` (through the writer),
    count it on the status stream ``name`` and log it, without its payload."""
    writer.put(user_id, rows.QUARANTINE,
               [rows.quarantine(account_id, source, topic, payload, error, local_ms)])
    if name is not None:
        board.quarantined(name)
    log.warning("%s: item quarantined (%s): %s", name or source, source, error)


def _reason(error: BaseException) -> str:
    """An error for the log: its type and the first 200 characters (BybitError messages
    name the endpoint and retCode only; the log redacts whatever else)."""
    return f"{type(error).__name__}: {str(error)[:200]}"


class Reconciler:
    """Runs gap-filling tasks on its own thread; see the module docstring."""

    def __init__(self, writer: EventWriter, board: StatusBoard, market: BybitRest,
                 symbols: tuple[str, ...], config: ReconcileConfig = ReconcileConfig()) -> None:
        self.writer = writer
        self.board = board
        self.market = market
        self.symbols = symbols
        self.config = config
        self.accounts: list[PrivateAccount] = []
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

    def private_gap(self, account: PrivateAccount, start_ms: int, reason: str,
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
        return self.store_trades(symbol, self.market.recent_trades(symbol), now_ms())

    def store_trades(self, symbol: str, page: Page, local_ms: int) -> list:
        """Store one page of recent trades; return the valid linear ones as events."""
        name = f"public/publicTrade.{symbol}"
        build = decode.linear(lambda item: parsing.recent_trade(item, local_ms),
                              page.category or parsing.LINEAR, "recentTrade",
                              lambda _: self.board.other_category(name))
        events, batch = rows.public_trades(decode.trades(page.rows, build, self._rejecter(
            name, "rest.recent-trade", symbol, local_ms)))
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
        self.store_funding(symbol, self.market.funding_history(symbol), now_ms())

    def store_funding(self, symbol: str, page: Page, local_ms: int) -> None:
        """Store one page of settled funding rates (counted on the symbol's tickers)."""
        name = f"public/tickers.{symbol}"
        build = decode.linear(lambda item: rows.funding(parsing.funding(item, local_ms)),
                              page.category or parsing.LINEAR, "fundingHistory",
                              lambda _: self.board.other_category(name))
        self.writer.put(None, "funding_rates", decode.each(page.rows, build, self._rejecter(
            name, "rest.funding", symbol, local_ms)))

    def _rejecter(self, name: str, source: str, topic: str,
                  local_ms: int) -> Callable[[Any, parsing.ParseError], None]:
        return lambda item, e: quarantine(self.writer, self.board, name, source=source,
                                          topic=topic, payload=item, error=str(e),
                                          local_ms=local_ms)

    # -- private ---------------------------------------------------------------------------------

    def fill_private(self, account: PrivateAccount, start_ms: int, reason: str,
                     gap_end_ms: int | None = None, until_ms: int | None = None) -> int:
        """Fetch the account's executions, orders, positions and wallet since ``start_ms``
        (executions up to ``until_ms``, default now, plus the margin); return how many
        execution rows were fetched.

        Each of the four goes on whatever happened to the others (see the module
        docstring); the gap is recorded only once every execution page was fetched.
        """
        if account.closed:
            return 0
        target = account.target
        rest = account.rest
        scope = target.user_id
        local = now_ms()
        start = start_ms - self.config.margin_ms
        end = (local if until_ms is None else until_ms) + self.config.margin_ms
        fetched: dict[str, list[rows.Row]] = {}
        failed: dict[str, Exception] = {}
        for topic, pages in (
                ("execution", lambda: rest.executions(start, end)),
                ("order", lambda: _recent_orders(rest, start - self.config.order_lookback_ms,
                                                 local)),
                ("position", lambda: _positions(rest, target)),
                ("wallet", lambda: [rest.wallet()])):
            fetched[topic], error = _walk(pages, lambda page, t=topic: account.page_rows(
                t, page, local))
            self.writer.put(scope, rows.PRIVATE_TABLES[topic], fetched[topic])
            if error is not None:
                failed[topic] = error
        for topic, error in failed.items():
            if topic != "execution":
                log.warning("reconcile %s of %s: %s", topic, target.name, _reason(error))
        if "execution" in failed:  # logged by whoever runs the task (which retries it)
            raise failed["execution"]
        executions, orders = len(fetched["execution"]), len(fetched["order"])
        if reason in ("reconnect", "stale", "startup-resume"):
            record_gap(self.writer, self.board, f"{account.label}/execution", stream="private",
                       symbol=None, start_ms=start_ms, end_ms=gap_end_ms or local, reason=reason,
                       filled=True, rows_recovered=executions, user_id=scope,
                       account_id=target.account_id,
                       detail=f"{executions} executions, {orders} orders fetched")
        return executions

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
        """Run one part of the periodic reconcile; whatever it raises costs that part only."""
        try:
            action()
        except Exception as e:
            log.warning("periodic reconcile %s: %s", name, _reason(e))


def _walk(pages: Callable[[], Iterable[Page]], convert: Callable[[Page], list[rows.Row]],
          ) -> tuple[list[rows.Row], Exception | None]:
    """The rows of every page until one request fails; the rows so far and that failure."""
    fetched: list[rows.Row] = []
    try:
        for page in pages():
            fetched.extend(convert(page))
    except Exception as e:  # a BybitError, or whatever a malformed answer raised
        return fetched, e
    return fetched, None


def _positions(rest: BybitRest, target: AccountTarget) -> Iterator[Page]:
    """Every open position (asked by settle coin), then both sides of each strategy's
    symbol: by settle coin Bybit leaves flat sides out, so a position closed while the
    private stream was down would stay open in the captured account."""
    yield rest.positions()
    for symbol in sorted({strategy.symbol for strategy in target.strategies}):
        yield rest.positions(symbol)


def _recent_orders(rest: BybitRest, oldest_ms: int, local_ms: int) -> Iterator[Page]:
    """Order history pages, newest first, up to the first page reaching before ``oldest_ms``."""
    for page in rest.order_history():
        yield page
        created = (_created_ms(item, local_ms) for item in page.rows)
        if any(c is not None and c < oldest_ms for c in created):
            return


def _created_ms(item: Any, local_ms: int) -> int | None:
    try:
        return fields.opt_time(item, "createdTime", "order", local_ms)
    except parsing.ParseError:
        return None
