"""A circuit breaker per account: stop hammering an exchange that keeps failing.

After ``threshold`` consecutive failed requests the breaker opens: the account's worker
sends nothing for the first back-off (30 s), then lets one probe through. A failed probe
opens it again for the next back-off (60 s, then 120 s); a failure after the last back-off
trips it for good, and the account goes to the ``error`` state until an operator enables
it again. Any success closes it and resets the count. The breaker only counts; what a
failure is, and what to do when it trips, is the worker's business.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"        # requests flow
    OPEN = "open"            # backing off: no request until the probe time
    HALF_OPEN = "half-open"  # the back-off passed: one probe may go
    TRIPPED = "tripped"      # gave up: the account is in error


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """Consecutive failures that open the breaker, and the back-offs that follow.

    No back-off at all trips the breaker at the first opening.
    """

    threshold: int = 3
    backoffs_s: Sequence[float] = (30.0, 60.0, 120.0)

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("breaker: threshold must be >= 1")
        if not all(0 <= b < float("inf") for b in self.backoffs_s):
            raise ValueError("breaker: back-offs must be finite and >= 0")


class CircuitBreaker:
    """Counts consecutive failures; says whether a request may go now.

    Not thread-safe on its own: one account's worker thread is its only user.
    """

    def __init__(self, policy: BreakerPolicy = BreakerPolicy(), *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self.failures = 0
        self.openings = 0
        self._retry_at = 0.0
        self.state = BreakerState.CLOSED
        self.last_error = ""

    def allows(self) -> bool:
        """Whether a request may be sent now (an open breaker becomes half-open in time)."""
        if self.state is BreakerState.OPEN and self._clock() >= self._retry_at:
            self.state = BreakerState.HALF_OPEN
        return self.state in (BreakerState.CLOSED, BreakerState.HALF_OPEN)

    def seconds_to_probe(self) -> float:
        """How long until the next probe may go (0 unless open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._retry_at - self._clock())

    def success(self) -> None:
        self.failures = 0
        self.openings = 0
        self.state = BreakerState.CLOSED
        self.last_error = ""

    def failure(self, reason: str) -> BreakerState:
        """Count a failed request; return the state it leaves the breaker in."""
        self.last_error = reason
        if self.state is BreakerState.TRIPPED:
            return self.state
        self.failures += 1
        reopen = self.state is BreakerState.HALF_OPEN
        if reopen or self.failures >= self.policy.threshold:
            if self.openings >= len(self.policy.backoffs_s):
                self.state = BreakerState.TRIPPED
            else:
                self._retry_at = self._clock() + self.policy.backoffs_s[self.openings]
                self.openings += 1
                self.state = BreakerState.OPEN
        return self.state

    def reset(self) -> None:
        """Operator action: forget everything (the account was enabled again)."""
        self.success()
