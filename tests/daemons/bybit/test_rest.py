"""The REST client against the real venue: rate limiter, 10006 backoff, errors, paging."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal

import pytest

from daemons.bybit import parsing
from daemons.bybit import rest as rest_module
from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.errors import FatalError, NonRetryableError, RetryableError
from daemons.bybit.ratelimit import ORDER, RateLimiter, RateLimits
from daemons.bybit.rest import BybitRest
from daemons.secrets.envelope import Secret
from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.server import RunningVenue, start_venue
from tests.fixtures.secrets import make_secret_text


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    spec = AccountSpec("alice", "key-alice", make_secret_text(), Decimal(1_000_000))
    # Carol's order budget is untouched by the rate-limit tests that spend Alice's.
    fresh = AccountSpec("carol", "key-carol", make_secret_text(), Decimal(1_000_000))
    running = start_venue(VenueConfig(accounts=(spec, fresh), start_paused=True, seed=3,
                                      latency_ms_median=1.0))
    yield running
    running.stop()


def client(venue: RunningVenue, sleeps: list[float] | None = None, *, account: int = 0,
           **kwargs) -> BybitRest:
    spec = venue.server.config.accounts[account]

    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(max(seconds, 0))

    return BybitRest(endpoints_for("local", venue.base_url), spec.api_key,
                     Secret(spec.api_secret), sleep=sleep, **kwargs)


def fault(venue: RunningVenue, kind: str, seconds: float, **options: str) -> None:
    query = "&".join(f"{k}={v}" for k, v in {"seconds": seconds, **options}.items())
    request = urllib.request.Request(f"{venue.base_url}/admin/faults/{kind}?{query}",
                                     method="POST")
    urllib.request.urlopen(request, timeout=5).close()


def clear_faults(venue: RunningVenue) -> None:
    request = urllib.request.Request(f"{venue.base_url}/admin/faults", method="DELETE")
    urllib.request.urlopen(request, timeout=5).close()


def place(session: BybitRest, venue: RunningVenue, number: int) -> dict:
    last = Decimal(venue.server.core.market.price_str(venue.server.core.market.last_ticks))
    price = (last * Decimal("0.97")).quantize(Decimal("0.1")) - number * Decimal("0.1")
    return session.place_order(symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                               price=str(price), positionIdx=1, orderLinkId=f"t-{number}")


def test_rate_limiter_rolling_window_delays_the_eleventh_request() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(RateLimits(order_per_s=10, query_per_s=20), clock=lambda: now[0],
                          sleep=sleep, window_s=1.0)
    for _ in range(10):
        assert limiter.acquire(ORDER) == 0
    for _ in range(20):
        assert limiter.acquire() == 0  # queries have their own budget
    now[0] = 0.25
    assert limiter.acquire(ORDER) == pytest.approx(0.75)
    assert sleeps == [pytest.approx(0.75)]


def test_rate_limits_not_positive_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimits(order_per_s=0)


def test_rest_twenty_orders_at_ten_per_second_never_hit_10006_and_page_by_cursor(
        venue: RunningVenue, monkeypatch: pytest.MonkeyPatch) -> None:
    session = client(venue)
    clear_faults(venue)
    started = time.monotonic()
    for number in range(20):
        place(session, venue, number)
    elapsed = time.monotonic() - started
    assert session.retries == 0
    assert elapsed >= 0.95  # the limiter held the second ten back by a rolling second
    monkeypatch.setattr(rest_module, "ORDERS_PAGE_MAX", 7)
    links = [row["orderLinkId"] for page in session.order_history() for row in page.rows]
    assert {f"t-{n}" for n in range(20)} <= set(links)
    assert len(links) == len(set(links))


def test_rest_10006_backs_off_until_the_reset_timestamp(venue: RunningVenue) -> None:
    sleeps: list[float] = []
    session = client(venue, sleeps, backoff_s=(0.05, 0.1, 0.2))
    started = time.monotonic()  # before the fault: its 3 s run from when the venue sets it
    fault(venue, "rate_limit", 3)
    page = session.wallet()
    assert page.rows and session.retries >= 1
    assert all(s >= 0.5 for s in sleeps), sleeps  # the reset header, not the 50 ms step
    assert time.monotonic() - started >= 2.9


def test_rest_server_errors_retry_on_the_backoff_schedule_then_raise(venue: RunningVenue) -> None:
    sleeps: list[float] = []
    session = client(venue, sleeps, backoff_s=(0.01, 0.02, 0.04))
    fault(venue, "http_5xx", 10, status=502)
    try:
        with pytest.raises(RetryableError, match="HTTP 502"):
            session.positions()
    finally:
        clear_faults(venue)
    assert sleeps == [0.01, 0.02, 0.04]


def test_rest_rejected_key_is_fatal_and_not_retried(venue: RunningVenue) -> None:
    sleeps: list[float] = []
    session = client(venue, sleeps)
    fault(venue, "auth_reject", 10)
    try:
        with pytest.raises(FatalError) as caught:
            session.wallet()
    finally:
        clear_faults(venue)
    assert caught.value.ret_code == 10003 and sleeps == []
    assert venue.server.config.accounts[0].api_secret not in str(caught.value)


def test_rest_bad_parameter_is_not_retryable(venue: RunningVenue) -> None:
    sleeps: list[float] = []
    session = client(venue, sleeps, account=1)
    with pytest.raises(NonRetryableError) as caught:
        session.place_order(symbol="NOPEUSDT", side="Buy", orderType="Limit", qty="0.001",
                            price="100", positionIdx=1)
    assert caught.value.ret_code == 10001 and sleeps == []


def test_rest_public_recent_trades_need_no_key_and_parse(venue: RunningVenue) -> None:
    last = venue.server.core.market.price_str(venue.server.core.market.last_ticks)
    request = urllib.request.Request(
        f"{venue.base_url}/admin/tape/trades", method="POST",
        data=json.dumps([{"side": "Sell", "price": last, "size": "0.5"}]).encode())
    urllib.request.urlopen(request, timeout=5).close()
    public = BybitRest(endpoints_for("local", venue.base_url))
    rows = public.recent_trades("BTCUSDT", 5).rows
    newest = parsing.recent_trade(rows[0], public.server_time_ms())
    assert newest.size == Decimal("0.5") and newest.side == "Sell"
    assert public.server_time_ms() > 0
    assert "public" in repr(public)


def test_endpoints_local_without_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDBOT_LOCAL_VENUE_URL", raising=False)
    with pytest.raises(ValueError, match="GRIDBOT_LOCAL_VENUE_URL"):
        endpoints_for("local")
    monkeypatch.setenv("GRIDBOT_LOCAL_VENUE_URL", "http://127.0.0.1:9/")
    local = endpoints_for("local")
    assert local.ws_private == "ws://127.0.0.1:9/v5/private" and local.contiguous_trade_seq
    assert endpoints_for("mainnet").ws_public_linear == "wss://stream.bybit.com/v5/public/linear"
    assert endpoints_for("testnet").rest_url == "https://api-testnet.bybit.com"
    with pytest.raises(ValueError, match="environment"):
        endpoints_for("moon")
