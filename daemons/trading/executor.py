"""Intents into REST calls for one live account, and the exchange's refusals back into events.

The engine decides; this module only carries decisions out, with three rules:

* **Nothing is retried blindly.** A placement whose answer never came (a timeout, a server
  error) may or may not have reached the book, so it is looked up by its ``orderLinkId``
  before anything else: found, the engine is told its real state; not found, the engine
  is told it was rejected and may place the level again later. Only a rate-limited
  request (10006: Bybit refused it before looking at it) is sent again, once Bybit's reset
  time has passed.
* **A refusal is an event.** The exchange sends no order update for a request it refuses
  at REST level, so the engine would hold the order as pending for ever. Refusals come
  back as an ``OrderUpdateEvent`` with status ``Rejected`` (docs/deviations.md); a cancel
  of an order that is already gone comes back as the order's real final state.
* **The breaker counts.** Requests that fail for the account as a whole (a revoked key, a
  dead exchange) count against the account's circuit breaker; a plain refusal of one
  order (insufficient balance, a bad quantity) is an answer, not a failure.

Every call happens on the account's worker thread, inside its rate limiter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from daemons.bybit import parsing
from daemons.bybit.errors import RATE_LIMIT, BybitError, NonRetryableError
from daemons.bybit.rest import BybitRest
from daemons.trading.breaker import CircuitBreaker
from daemons.trading.runtime import gone
from gridcore.events import Event, OrderUpdateEvent
from gridcore.intents import CancelIntent, PlaceLimitIntent

log = logging.getLogger(__name__)

DUPLICATE_LINK_ID = 110072
ORDER_GONE = frozenset({110001, 110008})
#: How many rate-limit refusals of one request are waited out before it is given up.
RATE_LIMIT_WAITS = 5


@dataclass(slots=True)
class ExecutorStats:
    """Counts for status and metrics."""

    placed: int = 0
    cancelled: int = 0
    rejected: int = 0
    rate_limited: int = 0
    lookups: int = 0
    failures: int = 0
    last_error: str = ""
    reject_reasons: dict[str, int] = field(default_factory=dict)


class LiveExecutor:
    """One account's order entry.

    Parameters
    ----------
    rest:
        The account's REST client (its own rate limiter). Order requests are sent once
        (``retry=False``): this class decides what may be repeated; queries (lookups,
        probes) keep the client's retries.
    breaker:
        The account's circuit breaker.
    now_ms:
        Wall clock for the events it synthesises (their receipt time).
    sleep:
        For waiting out a rate limit.
    """

    def __init__(self, rest: BybitRest, breaker: CircuitBreaker, *,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rest = rest
        self.breaker = breaker
        self.stats = ExecutorStats()
        self._now_ms = now_ms
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"LiveExecutor({self.rest!r})"

    # -- placing -----------------------------------------------------------------------------

    def place(self, intent: PlaceLimitIntent) -> list[Event]:
        """Send a limit order; return the events the engine must hear (none on success)."""
        params = {"symbol": intent.symbol, "side": intent.side, "orderType": "Limit",
                  "qty": str(intent.qty), "price": str(intent.price),
                  "timeInForce": "GTC", "reduceOnly": intent.reduce_only,
                  "positionIdx": intent.position_idx, "orderLinkId": intent.client_order_id}
        try:
            self._send("place_order", params)
        except BybitError as e:
            return self._place_failed(intent, e)
        self.stats.placed += 1
        return []

    def _place_failed(self, intent: PlaceLimitIntent, error: BybitError) -> list[Event]:
        if error.ret_code == DUPLICATE_LINK_ID or not isinstance(error, NonRetryableError):
            # The order may exist (a timeout, a server error, or a link id the exchange
            # already holds): ask before telling the engine anything.
            answered, found = self._lookup(intent.symbol, order_link_id=intent.client_order_id)
            if found is not None:
                return [found]
            if not answered:
                return []  # unknown for now: the order stream will say, or the resync
        return [self._rejected(intent, error)]

    # -- cancelling --------------------------------------------------------------------------

    def cancel(self, intent: CancelIntent) -> list[Event]:
        """Cancel an order; a cancel of an order already gone answers with its real state."""
        params = {"symbol": intent.symbol, "orderId": intent.order_id,
                  "orderLinkId": None if intent.order_id else intent.client_order_id}
        try:
            self._send("cancel_order", params)
        except BybitError as e:
            answered, found = self._lookup(intent.symbol, order_link_id=params["orderLinkId"],
                                           order_id=intent.order_id)
            if found is not None and not found.is_open:
                return [found]
            if e.ret_code in ORDER_GONE and answered and found is None:
                return [gone(intent.symbol, intent.client_order_id or "",
                             intent.order_id or "", self._now_ms())]
            log.warning("cancel of %s not done (%s)", intent.client_order_id or intent.order_id,
                        e)
            return []
        self.stats.cancelled += 1
        return []

    # -- probing -----------------------------------------------------------------------------

    def probe(self) -> bool:
        """One signed query to learn whether the account works again (breaker half-open)."""
        try:
            self.rest.call("get_wallet_balance", accountType="UNIFIED")
        except BybitError as e:
            self._count_failure(e)
            return False
        self.breaker.success()
        return True

    # -- internals ---------------------------------------------------------------------------

    def _send(self, name: str, params: dict[str, Any]) -> None:
        """Call an order endpoint; wait out rate limits; count the breaker."""
        for attempt in range(RATE_LIMIT_WAITS + 1):
            try:
                self.rest.call(name, "order", retry=False, category="linear", **params)
            except BybitError as e:
                if e.ret_code == RATE_LIMIT and attempt < RATE_LIMIT_WAITS:
                    self.stats.rate_limited += 1
                    self._sleep(self._rate_limit_wait_s(e))
                    continue
                if not isinstance(e, NonRetryableError):
                    self._count_failure(e)
                else:
                    self.breaker.success()  # the exchange answered: the account works
                raise
            self.breaker.success()
            return

    def _rate_limit_wait_s(self, error: BybitError) -> float:
        """Until Bybit's reset time (at least 50 ms, at most 2 s: a bad header never stalls)."""
        if error.reset_ms is None:
            return 0.2
        return min(2.0, max(0.05, (error.reset_ms - self._now_ms()) / 1000))

    def _count_failure(self, error: BybitError) -> None:
        self.stats.failures += 1
        self.stats.last_error = str(error)
        self.breaker.failure(str(error))

    def _lookup(self, symbol: str, *, order_link_id: str | None = None,
                order_id: str | None = None) -> tuple[bool, OrderUpdateEvent | None]:
        """(whether the exchange answered, the order as it knows it, open or finished).

        Answered with None: the exchange does not know the order (it was never placed).
        """
        self.stats.lookups += 1
        try:
            row = self.rest.find_order(symbol, order_link_id=order_link_id, order_id=order_id)
        except BybitError as e:
            if not isinstance(e, NonRetryableError):
                self._count_failure(e)
            return False, None
        if row is None:
            return True, None
        try:
            return True, parsing.order(row, self._now_ms())
        except parsing.ParseError as e:
            log.warning("order lookup answer not understood (%s)", e)
            return False, None

    def _rejected(self, intent: PlaceLimitIntent, error: BybitError) -> OrderUpdateEvent:
        self.stats.rejected += 1
        reason = f"retCode {error.ret_code}" if error.ret_code is not None else type(error).__name__
        self.stats.reject_reasons[reason] = self.stats.reject_reasons.get(reason, 0) + 1
        return intent.refused(self._now_ms(), str(error))
