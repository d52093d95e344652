"""The trading workers' tunables (the daemon's options), apart so that every part of the
daemon can name them without importing the worker."""

from __future__ import annotations

from dataclasses import dataclass, field

from daemons.bybit.ratelimit import RateLimits
from daemons.trading.breaker import BreakerPolicy


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Tunables of every worker (the daemon's options)."""

    snapshot_interval_s: float = 60.0
    ping_interval_s: int = 20
    rest_limits: RateLimits = field(default_factory=RateLimits)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    shadow_fill_model: str = "CONSERVATIVE"
    shadow_all: bool = False
    lookback_ms: int = 24 * 3600 * 1000
    #: Waits before retrying a query (rate limit, server error, network); orders are
    #: never retried blindly (:mod:`daemons.trading.executor`).
    query_backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0)
    #: Requests per second of the whole daemon (all accounts): under Bybit's per-IP limit
    #: of 600 requests in 5 s, with room for a capture daemon on the same host.
    ip_requests_per_s: int = 100
