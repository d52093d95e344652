"""Venues for the tests: real servers on free loopback ports, in background threads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from daemons.venue.config import AccountSpec
from daemons.venue.server import RunningVenue
from daemons.venue.testing import make_accounts, start_test_venue

ACCOUNT_COUNT = 16


@pytest.fixture(scope="module")
def quiet_venue() -> Iterator[RunningVenue]:
    """A venue whose tape is paused: nothing fills unless a test crosses the spread."""
    venue = start_test_venue(ACCOUNT_COUNT, start_paused=True, seed=5, latency_ms_median=1.0)
    yield venue
    venue.stop()


@pytest.fixture(scope="module")
def live_venue() -> Iterator[RunningVenue]:
    """A venue playing the generated tape at 5x."""
    venue = start_test_venue(ACCOUNT_COUNT, speed=5.0, seed=6)
    yield venue
    venue.stop()


@pytest.fixture
def fresh_venue() -> Iterator[RunningVenue]:
    """A venue of the test's own, for faults that would disturb other tests."""
    venue = start_test_venue(4, speed=5.0, seed=7, latency_ms_median=1.0)
    yield venue
    venue.stop()


def account(number: int) -> AccountSpec:
    """The test account ``acct<number>`` (each test uses its own to stay independent)."""
    return make_accounts(ACCOUNT_COUNT)[number - 1]
