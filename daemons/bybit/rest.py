"""Bybit v5 REST on pybit: configurable endpoint, own rate limiter, backoff, cursor paging.

pybit builds every URL from ``session.endpoint``, so the same client talks to mainnet,
testnet or the local venue (:mod:`daemons.bybit.endpoints`). pybit's own retries are
off (it would sleep on 10006 by itself, outside this client's budget); instead every
request first takes a slot from the account's :class:`RateLimiter`, and a retryable
failure (10006, server errors, network) is retried after 1 s, 2 s, 4 s (``backoff_s``),
waiting at least until ``X-Bapi-Limit-Reset-Timestamp`` when Bybit sends it.

Answers are plain dicts (Bybit's ``result``); errors are those of
:mod:`daemons.bybit.errors`, whose messages carry the endpoint and retCode only. An
answer that is not Bybit's envelope (undecodable or absurdly nested JSON, a ``time``
that is not a time, no ``result.list``) is a :class:`RetryableError` of that request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from daemons.bybit import parsing
from daemons.bybit.endpoints import Endpoints
from daemons.bybit.errors import (
    RATE_LIMIT,
    BybitError,
    RetryableError,
    classify_http_status,
    classify_ret_code,
)
from daemons.bybit.ratelimit import DEFAULT_LIMITS, ORDER, QUERY, RateLimiter, RateLimits
from daemons.secrets.envelope import Secret

log = logging.getLogger(__name__)


class _QuietHTTP(HTTP):
    """pybit's client without its dataclass repr, which prints ``api_secret`` in clear
    (a debugger, a rich traceback with locals or a log of ``vars(client)`` would show it)."""

    def __repr__(self) -> str:
        return f"HTTP(endpoint={self.endpoint!r}, signed={self.api_key is not None})"

CATEGORY = "linear"
RECENT_TRADES_MAX = 1000
EXECUTIONS_PAGE_MAX = 100
ORDERS_PAGE_MAX = 50
SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Page:
    """One REST answer: its rows (each still to validate), the cursor of the next page
    ("" at the end), its time and its ``category`` (None if it names none)."""

    rows: list[Any]
    cursor: str
    time_ms: int
    category: str | None = None


class BybitRest:
    """One account's (or the public market's) REST client.

    Parameters
    ----------
    endpoints:
        Where the exchange is (:func:`daemons.bybit.endpoints.endpoints_for`).
    api_key, api_secret:
        The account's credential, or None for public endpoints only. The secret is
        handed to pybit, which keeps it in memory to sign requests; it is never logged.
    limits:
        This client's own per-second budget (order entry and queries apart).
    backoff_s:
        Waits before each retry of a retryable failure; its length is the retry count.
    shared_limiter:
        A budget every client of one process shares (every request counts as a query):
        Bybit also limits requests per IP address (600 per 5 s, HTTP 403 past it), which a
        daemon trading many accounts from one host reaches long before any account's own.
    """

    def __init__(self, endpoints: Endpoints, api_key: str | None = None,
                 api_secret: Secret | None = None, *, limits: RateLimits = DEFAULT_LIMITS,
                 backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0), timeout_s: float = 10.0,
                 recv_window_ms: int = 5000, sleep: Callable[[float], None] = time.sleep,
                 shared_limiter: RateLimiter | None = None) -> None:
        self.endpoints = endpoints
        self.limiter = RateLimiter(limits)
        self.shared_limiter = shared_limiter
        self.backoff_s = backoff_s
        self.retries = 0
        self._sleep = sleep
        self._http = _QuietHTTP(api_key=api_key,
                                api_secret=api_secret.reveal() if api_secret is not None
                                else None, max_retries=1, retry_codes={-1},
                                timeout=timeout_s, recv_window=recv_window_ms)
        self._http.endpoint = endpoints.rest_url
        self._key_hint = f"{api_key[:4]}..." if api_key else "public"

    def __repr__(self) -> str:
        return f"BybitRest({self.endpoints.environment}, key={self._key_hint})"

    # -- the request path ----------------------------------------------------------------

    def call(self, name: str, kind: str = QUERY, *, retry: bool = True,
             **params: Any) -> dict[str, Any]:
        """Call pybit's method ``name`` with ``params``; return the whole answer.

        ``retry=False`` sends the request once: for order entry, where a repeated request
        after an unknown outcome could place an order twice (the caller decides).
        """
        method = getattr(self._http, name)
        attempts = len(self.backoff_s) + 1 if retry else 1
        for attempt in range(attempts):
            self.limiter.acquire(kind)
            if self.shared_limiter is not None:
                self.shared_limiter.acquire(QUERY)
            try:
                return method(**params)
            except (InvalidRequestError, FailedRequestError, requests.RequestException) as e:
                error, reset_ms = _translate(name, e)  # pybit's errors become ours here
            except (RecursionError, ValueError, AttributeError) as e:
                # pybit reading an answer that is not Bybit's JSON object (nested too deep,
                # a number past int()'s digit limit, not an object)
                error, reset_ms = RetryableError(
                    f"{name}: malformed answer ({type(e).__name__})"), None
            error.reset_ms = reset_ms
            if not isinstance(error, RetryableError) or attempt == attempts - 1:
                raise error from None
            delay = self.backoff_s[attempt]
            if reset_ms is not None:
                delay = max(delay, reset_ms / 1000 - time.time())
            self.retries += 1
            log.warning("%s: %s; retry %d in %.2f s", name, error, attempt + 1, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    # -- public market ---------------------------------------------------------------------

    def server_time_ms(self) -> int:
        return int(self.call("get_server_time")["time"])

    def recent_trades(self, symbol: str, limit: int = RECENT_TRADES_MAX) -> Page:
        """Newest first, at most 1,000; Bybit offers no cursor and no time filter here."""
        body = self.call("get_public_trade_history", category=CATEGORY, symbol=symbol,
                         limit=min(limit, RECENT_TRADES_MAX))
        return _page(body)

    def funding_history(self, symbol: str, limit: int = 200) -> Page:
        body = self.call("get_funding_rate_history", category=CATEGORY, symbol=symbol,
                         limit=limit)
        return _page(body)

    # -- account queries -------------------------------------------------------------------

    def executions(self, start_ms: int, end_ms: int, symbol: str | None = None,
                   ) -> Iterator[Page]:
        """Pages of every execution with ``start_ms <= execTime <= end_ms``, newest first.

        Bybit answers at most 7 days per query, so longer windows are split.
        """
        window_end = end_ms
        while window_end >= start_ms:
            window_start = max(start_ms, window_end - SEVEN_DAYS_MS)
            cursor = ""
            while True:
                body = self.call("get_executions", category=CATEGORY, symbol=symbol,
                                 startTime=window_start, endTime=window_end,
                                 limit=EXECUTIONS_PAGE_MAX, cursor=cursor or None)
                page = _page(body)
                yield page
                if not page.cursor or not page.rows:
                    break
                cursor = page.cursor
            window_end = window_start - 1

    def order_history(self, symbol: str | None = None, max_pages: int = 20,
                      ) -> Iterator[Page]:
        """Pages of orders, newest first, by cursor (up to ``max_pages`` pages)."""
        cursor = ""
        for _ in range(max_pages):
            body = self.call("get_order_history", category=CATEGORY, symbol=symbol,
                             limit=ORDERS_PAGE_MAX, cursor=cursor or None)
            page = _page(body)
            yield page
            if not page.cursor or not page.rows:
                return
            cursor = page.cursor

    def open_orders(self, symbol: str | None = None, order_link_id: str | None = None,
                    order_id: str | None = None) -> list[Any]:
        """Every open order (of ``symbol``, or every USDT-settled one), or the one named by
        ``order_link_id`` / ``order_id``; rows still to validate."""
        rows: list[Any] = []
        cursor = ""
        while True:
            scope = {"symbol": symbol} if symbol is not None else {"settleCoin": "USDT"}
            body = self.call("get_open_orders", category=CATEGORY, **scope,
                             orderLinkId=order_link_id, orderId=order_id,
                             limit=ORDERS_PAGE_MAX, cursor=cursor or None)
            page = _page(body)
            rows.extend(page.rows)
            if not page.cursor or not page.rows:
                return rows
            cursor = page.cursor

    def find_order(self, symbol: str, order_link_id: str | None = None,
                   order_id: str | None = None) -> Any | None:
        """The order named by its link id or id, open or recently finished; None if the
        exchange does not know it (never placed)."""
        for name in ("get_open_orders", "get_order_history"):
            body = self.call(name, category=CATEGORY, symbol=symbol, orderLinkId=order_link_id,
                             orderId=order_id, limit=ORDERS_PAGE_MAX)
            rows = _page(body).rows
            if rows:
                return rows[0]
        return None

    def instruments(self, symbol: str | None = None) -> Page:
        """Linear instruments (one, or the first page of all)."""
        return _page(self.call("get_instruments_info", category=CATEGORY, symbol=symbol))

    def positions(self, symbol: str | None = None) -> Page:
        """One symbol's positions, or (no symbol) every USDT-settled one."""
        if symbol is None:
            return _page(self.call("get_positions", category=CATEGORY, settleCoin="USDT"))
        return _page(self.call("get_positions", category=CATEGORY, symbol=symbol))

    def wallet(self) -> Page:
        return _page(self.call("get_wallet_balance", accountType="UNIFIED"))

    # -- order entry (the trading daemon's) ------------------------------------------------

    def place_order(self, **params: Any) -> dict[str, Any]:
        """``POST /v5/order/create``; the answer is an acknowledgement only."""
        return self.call("place_order", ORDER, category=CATEGORY, **params)["result"]

    def cancel_order(self, **params: Any) -> dict[str, Any]:
        return self.call("cancel_order", ORDER, category=CATEGORY, **params)["result"]


def _page(body: Any) -> Page:
    """The page of an answer whose envelope the normaliser accepts (see the docstring)."""
    try:
        envelope = parsing.envelope(body, time.time_ns() // 1_000_000)
    except parsing.ParseError as e:
        raise RetryableError(f"malformed answer ({e})") from None
    return Page(envelope.rows, envelope.cursor, envelope.time_ms, envelope.category)


def _translate(name: str, e: Exception) -> tuple[BybitError, int | None]:
    """Our error for a pybit/requests exception, and the rate-limit reset time if given."""
    if isinstance(e, InvalidRequestError):
        code = int(e.status_code)
        reset = _reset_ms(e.resp_headers) if code == RATE_LIMIT else None
        return classify_ret_code(code)(f"{name}: retCode {code} {e.message}", code), reset
    if isinstance(e, FailedRequestError):
        status = int(e.status_code)
        return classify_http_status(status)(f"{name}: HTTP {status}", status), None
    return RetryableError(f"{name}: network error ({type(e).__name__})"), None


def _reset_ms(headers: Any) -> int | None:
    try:
        value = headers.get("X-Bapi-Limit-Reset-Timestamp") if headers is not None else None
        return int(value) if value else None
    except (TypeError, ValueError):
        return None
