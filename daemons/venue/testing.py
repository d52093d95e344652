"""Helpers for code that tests against a local venue: accounts, pybit clients, waits.

Used by the venue's own tests and by later capture and daemon tests, so that each of
them points real pybit clients at a real venue the same way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pybit.unified_trading import HTTP, WebSocket

from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.market import MarketState
from daemons.venue.server import RunningVenue, start_venue

_HOST = re.compile(r"^wss?://[^/]+")


def make_accounts(count: int, usdt: str = "100000") -> tuple[AccountSpec, ...]:
    """``count`` accounts named ``acct1``..; keys ``key-acctN``, secrets ``secret-acctN``."""
    return tuple(
        AccountSpec(f"acct{n}", f"key-acct{n}", f"secret-acct{n}", Decimal(usdt))
        for n in range(1, count + 1)
    )


def start_test_venue(accounts: int = 4, **overrides: Any) -> RunningVenue:
    """A venue on a free loopback port with ``accounts`` test accounts."""
    return start_venue(VenueConfig(accounts=make_accounts(accounts), **overrides))


def pybit_http(venue: RunningVenue, spec: AccountSpec | None = None, **kwargs: Any) -> HTTP:
    """A pybit HTTP session pointed at the venue; pybit's own retries off by default."""
    kwargs.setdefault("max_retries", 1)
    kwargs.setdefault("retry_codes", {-1})
    session = HTTP(api_key=spec.api_key if spec else None,
                   api_secret=spec.api_secret if spec else None, **kwargs)
    session.endpoint = venue.base_url
    return session


class LocalWebSocket(WebSocket):
    """pybit's WebSocket with its hard-coded Bybit host rewritten to the venue.

    The rewrite is idempotent because pybit's reconnect calls ``_connect`` again with
    the URL it already rewrote.
    """

    def __init__(self, ws_base_url: str, **kwargs: Any) -> None:
        self._local_base = ws_base_url.rstrip("/")
        super().__init__(**kwargs)

    def _connect(self, url: str) -> None:
        super()._connect(_HOST.sub(self._local_base, url))


def pybit_ws(venue: RunningVenue, spec: AccountSpec | None = None, **kwargs: Any) -> WebSocket:
    """A connected pybit WebSocket: private when ``spec`` is given, else public linear."""
    kwargs.setdefault("testnet", False)
    kwargs.setdefault("ping_interval", 20)
    if spec is None:
        return LocalWebSocket(venue.ws_base_url, channel_type="linear", **kwargs)
    return LocalWebSocket(venue.ws_base_url, channel_type="private", api_key=spec.api_key,
                          api_secret=spec.api_secret, **kwargs)


def record_prints(venue: RunningVenue) -> dict[str, list[dict[str, Any]]]:
    """Every public print each listed symbol's market makes from now on (its tape as
    published), by symbol; read the lists on the venue's loop (``venue.call``)."""
    prints: dict[str, list[dict[str, Any]]] = {}

    def hook(market: MarketState) -> None:
        recorded = prints.setdefault(market.symbol, [])
        original = market.record_print

        def recording(*args: Any) -> dict[str, Any]:
            item = original(*args)
            recorded.append(item)
            return item

        market.record_print = recording  # type: ignore[method-assign]

    venue.call(lambda: [hook(listing.market)
                        for listing in venue.server.core.listings.values()])
    return prints


def wait_for(predicate: Callable[[], Any], timeout_s: float = 10.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout_s}s waiting for {what or predicate}")


def wait_subscribed(venue: RunningVenue, stream: str, topics: set[str],
                    timeout_s: float = 10.0) -> None:
    """Wait until a ``stream`` ("public"/"private") connection holds all ``topics``.

    pybit does not wait for subscription acknowledgements; a test that acts right after
    subscribing must, as a client of real Bybit would have to.
    """
    hub = venue.server.public if stream == "public" else venue.server.private
    wait_for(lambda: venue.call(lambda: any(topics <= c.topics for c in hub.connections)),
             timeout_s, f"{stream} subscription to {sorted(topics)}")


__all__ = ["LocalWebSocket", "VenueConfig", "pybit_http", "pybit_ws", "start_test_venue",
           "make_accounts", "record_prints", "wait_for", "wait_subscribed"]
