"""The per-account circuit breaker: 3 failures, then 30 s, 60 s, 120 s, then error."""

from __future__ import annotations

import pytest

from daemons.trading.breaker import BreakerPolicy, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_three_consecutive_failures_open_it_for_30_s() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    assert breaker.failure("x") is BreakerState.CLOSED
    assert breaker.failure("x") is BreakerState.CLOSED
    assert breaker.failure("x") is BreakerState.OPEN
    assert not breaker.allows()
    clock.now += 29.9
    assert not breaker.allows() and breaker.seconds_to_probe() == pytest.approx(0.1)
    clock.now += 0.1
    assert breaker.allows() and breaker.state is BreakerState.HALF_OPEN


def test_breaker_success_between_failures_resets_the_count() -> None:
    breaker = CircuitBreaker(clock=Clock())
    for _ in range(5):
        breaker.failure("x")
        breaker.failure("x")
        breaker.success()
    assert breaker.state is BreakerState.CLOSED and breaker.allows()


def test_breaker_failed_probes_back_off_60_then_120_then_trip() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    for _ in range(3):
        breaker.failure("revoked")
    waits = []
    while breaker.state is not BreakerState.TRIPPED:
        waits.append(breaker.seconds_to_probe())
        clock.now += breaker.seconds_to_probe()
        assert breaker.allows()
        breaker.failure("revoked")
    assert waits == [30.0, 60.0, 120.0]
    assert not breaker.allows() and breaker.last_error == "revoked"


def test_breaker_successful_probe_closes_it_and_resets_back_offs() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    for _ in range(3):
        breaker.failure("x")
    clock.now += 30
    assert breaker.allows()
    breaker.success()
    for _ in range(3):
        breaker.failure("x")
    assert breaker.seconds_to_probe() == 30.0


def test_breaker_reset_after_trip_allows_again() -> None:
    breaker = CircuitBreaker(BreakerPolicy(threshold=1, backoffs_s=()), clock=Clock())
    assert breaker.failure("x") is BreakerState.TRIPPED
    breaker.reset()
    assert breaker.allows()


@pytest.mark.parametrize("policy", [{"threshold": 0}, {"backoffs_s": (float("inf"),)},
                                    {"backoffs_s": (float("nan"),)}, {"backoffs_s": (-1,)}])
def test_breaker_policy_refuses_impossible_values(policy) -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(**policy)
