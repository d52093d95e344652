"""Supervised pybit streams against the real venue: reconnect, resubscribe, watchdog."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.streams import Stream, TradeContinuity, utf8_check_is_compiled
from daemons.secrets.envelope import Secret
from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.server import RunningVenue, start_venue
from daemons.venue.testing import wait_for, wait_subscribed
from gridcore.events import PublicTradeEvent
from tests.fixtures.secrets import make_secret_text


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    spec = AccountSpec("bob", "key-bob", make_secret_text(), Decimal(100_000))
    running = start_venue(VenueConfig(accounts=(spec,), speed=5.0, seed=9))
    yield running
    running.stop()


def admin(venue: RunningVenue, path: str) -> None:
    request = urllib.request.Request(f"{venue.base_url}{path}", method="POST")
    urllib.request.urlopen(request, timeout=5).close()


class Inbox:
    def __init__(self, fail: bool = False) -> None:
        self.messages: list[dict[str, Any]] = []
        self.invalid: list[tuple[str, str]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def on_message(self, message: dict[str, Any], local_ms: int) -> None:
        with self.lock:
            self.messages.append(message)
        if self.fail:
            raise RuntimeError("handler bug")

    def on_invalid(self, text: str, error: str) -> None:
        self.invalid.append((text, error))

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for m in self.messages if str(m.get("topic")).startswith(prefix))


def public(venue: RunningVenue, inbox: Inbox, **kwargs: Any) -> Stream:
    endpoints = endpoints_for("local", venue.base_url)
    stream = Stream("public", endpoints.ws_public_linear, inbox.on_message,
                    on_invalid=inbox.on_invalid, **kwargs)
    stream.subscribe(["publicTrade.BTCUSDT", "tickers.BTCUSDT"])
    return stream.start()


@pytest.mark.parametrize("mode", ["abort", "close"])
def test_stream_dropped_connection_reconnects_and_resubscribes(venue: RunningVenue,
                                                               mode: str) -> None:
    inbox = Inbox()
    stream = public(venue, inbox, ping_interval_s=5)
    try:
        wait_for(lambda: inbox.count("publicTrade") > 0, 10, "first trades")
        admin(venue, f"/admin/ws/drop?stream=public&mode={mode}")
        wait_for(lambda: stream.stats.connects >= 2, 10, "a reconnect")
        before = inbox.count("publicTrade")
        wait_for(lambda: inbox.count("publicTrade") > before, 10, "trades after the reconnect")
        snapshots = [m for m in inbox.messages if m.get("type") == "snapshot"
                     and str(m.get("topic")).startswith("tickers")]
        assert len(snapshots) >= 2  # resubscribed: a fresh ticker snapshot per connection
    finally:
        stream.close()
    assert stream.stats.reconnects >= 1


def test_stream_handler_that_raises_does_not_end_the_stream(venue: RunningVenue) -> None:
    inbox = Inbox(fail=True)
    stream = public(venue, inbox, ping_interval_s=5)
    try:
        wait_for(lambda: stream.stats.handler_errors >= 5, 10, "several failing messages")
        assert stream.is_connected() and stream.stats.connects == 1
    finally:
        stream.close()


def test_stream_silent_connection_is_restarted_by_the_watchdog(venue: RunningVenue) -> None:
    inbox = Inbox()
    stream = public(venue, inbox, ping_interval_s=1, stale_after_s=1.0)
    try:
        wait_for(lambda: inbox.count("publicTrade") > 0, 10, "first trades")
        admin(venue, "/admin/faults/stall_public?seconds=30&mode=hold")
        wait_for(lambda: stream.stats.stale_restarts >= 1, 10, "the watchdog")
        admin(venue, "/admin/faults/stall_public?seconds=0")
        before = inbox.count("publicTrade")
        wait_for(lambda: inbox.count("publicTrade") > before, 10, "trades after the stall")
    finally:
        stream.close()


def test_stream_frame_that_is_not_json_goes_to_on_invalid_and_stream_continues(
        venue: RunningVenue) -> None:
    inbox = Inbox()
    stream = public(venue, inbox, ping_interval_s=5)
    try:
        wait_for(lambda: inbox.count("publicTrade") > 0, 10, "first trades")
        stream._receive("{not json")  # as if the socket delivered it
        stream._receive('{"op": "mystery"}')
        assert [error for _, error in inbox.invalid] == ["json: not JSON (JSONDecodeError)",
                                                        "unexpected message"]
        before = inbox.count("publicTrade")
        wait_for(lambda: inbox.count("publicTrade") > before, 10, "more trades")
    finally:
        stream.close()


def test_stream_private_refused_auth_is_retried_until_accepted(venue: RunningVenue) -> None:
    spec = venue.server.config.accounts[0]
    admin(venue, "/admin/faults/auth_reject?seconds=30")  # cleared below, once refused
    inbox = Inbox()
    endpoints = endpoints_for("local", venue.base_url)
    stream = Stream("private:bob", endpoints.ws_private, inbox.on_message, api_key=spec.api_key,
                    api_secret=Secret(spec.api_secret), ping_interval_s=5,
                    backoff_base_s=0.2)
    stream.subscribe(["order", "execution", "position", "wallet"])
    stream.start()
    try:
        wait_for(lambda: stream.stats.auth_failures >= 1, 10, "a refused auth")
        urllib.request.urlopen(urllib.request.Request(
            f"{venue.base_url}/admin/faults/auth_reject", method="DELETE"), timeout=5).close()
        wait_subscribed(venue, "private", {"order", "execution", "position", "wallet"}, 15)
    finally:
        stream.close()


def test_received_frames_are_utf8_checked_by_the_compiled_validator() -> None:
    # The pure-Python fallback costs a third of a core at 5,000 trades/s (docs/capture.md).
    from websocket._utils import validate_utf8

    assert utf8_check_is_compiled()
    assert validate_utf8("publicTrade ✓".encode())
    assert not validate_utf8(b"\x7b\xff\x7d")


def test_stream_url_without_websocket_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="ws://"):
        Stream("x", "http://127.0.0.1:1/v5/public/linear", lambda m, t: None)


def trade(seq: int, ts: int | None = None) -> PublicTradeEvent:
    return PublicTradeEvent(symbol="BTCUSDT", exchange_ts=ts or seq, local_ts=0, seq=seq,
                            trade_id=f"t{seq}", side="Buy", price=Decimal(1), size=Decimal(1))


def test_trade_continuity_sequence_jump_is_a_gap_only_when_contiguous() -> None:
    venue_like, bybit_like = TradeContinuity("BTCUSDT", True), TradeContinuity("BTCUSDT", False)
    for tracker in (venue_like, bybit_like):
        assert tracker.observe([trade(1), trade(2)]) is None
    gap = venue_like.observe([trade(5)])
    assert gap is not None and (gap.reason, gap.before.seq, gap.after.seq) == ("sequence", 2, 5)
    assert bybit_like.observe([trade(5)]) is None
    inner = venue_like.observe([trade(6), trade(9)])
    assert inner is not None and (inner.before.seq, inner.after.seq) == (6, 9)


def test_trade_continuity_reconnect_opens_a_gap_check_once() -> None:
    tracker = TradeContinuity("BTCUSDT", False)
    tracker.reconnected()
    assert tracker.observe([trade(1)]) is None  # nothing seen before: nothing to check
    tracker.reconnected()
    gap = tracker.observe([trade(2)])
    assert gap is not None and gap.reason == "reconnect" and gap.before.trade_id == "t1"
    assert tracker.observe([trade(3)]) is None
