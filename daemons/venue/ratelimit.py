"""Rolling one-second rate limits per account and endpoint, and the IP limit.

Bybit counts per UID and endpoint: order create, amend, cancel and cancel-all allow 10
per second each on linear, queries 50. The reset timestamp in the headers is when the
oldest counted request leaves the window, so pybit's sleep-until-reset stays short.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

ORDER_PATHS = frozenset({
    "/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/order/cancel-all",
})
WINDOW_MS = 1000
IP_LIMIT = 600
IP_WINDOW_MS = 5000


@dataclass(frozen=True)
class Verdict:
    """The outcome of one counted request and the three ``X-Bapi-Limit*`` values."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Bapi-Limit": str(self.limit),
            "X-Bapi-Limit-Status": str(self.remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(self.reset_ms),
        }


class RateLimiter:
    """Sliding-window counters keyed by (uid, path)."""

    def __init__(self, order_per_s: int, query_per_s: int) -> None:
        self.order_per_s = order_per_s
        self.query_per_s = query_per_s
        self._hits: dict[tuple[int, str], deque[int]] = defaultdict(deque)

    def limit_for(self, path: str) -> int:
        return self.order_per_s if path in ORDER_PATHS else self.query_per_s

    def hit(self, uid: int, path: str, now_ms: int) -> Verdict:
        """Count a request (if allowed) and say whether it may proceed."""
        limit = self.limit_for(path)
        hits = self._hits[(uid, path)]
        while hits and hits[0] <= now_ms - WINDOW_MS:
            hits.popleft()
        allowed = len(hits) < limit
        if allowed:
            hits.append(now_ms)
        reset = (hits[0] + WINDOW_MS) if hits else now_ms
        return Verdict(allowed, limit, max(limit - len(hits), 0), reset)


class IpLimiter:
    """600 requests per 5 seconds per client address; beyond it Bybit answers HTTP 403.

    Its verdict also supplies the ``X-Bapi-Limit*`` headers of requests that no account
    limit counts (public endpoints, authentication failures): the address limit is the
    one that applies to them.
    """

    def __init__(self, limit: int = IP_LIMIT) -> None:
        self.limit = limit
        self._hits: dict[str, deque[int]] = defaultdict(deque)

    def hit(self, address: str, now_ms: int) -> Verdict:
        """Count a request (if allowed) and say whether it may proceed."""
        hits = self._hits[address]
        while hits and hits[0] <= now_ms - IP_WINDOW_MS:
            hits.popleft()
        allowed = len(hits) < self.limit
        if allowed:
            hits.append(now_ms)
        reset = (hits[0] + IP_WINDOW_MS) if hits else now_ms
        return Verdict(allowed, self.limit, max(self.limit - len(hits), 0), reset)
