"""Webhook alerts: delivered to a real local HTTP receiver, throttled, never blocking."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from daemons.trading.alerts import Alert, AlertSender


class Receiver:
    """A local webhook receiver that records every JSON body it gets."""

    def __init__(self, status: int = 200, gate: threading.Event | None = None) -> None:
        self.bodies: list[dict] = []
        self.arrived = threading.Event()
        received, arrived = self.bodies, self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                arrived.set()
                if gate is not None:
                    gate.wait(30)
                received.append(body)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int) -> list[dict]:
        deadline = time.monotonic() + 10
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.bodies

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_alert_reaches_the_webhook_as_json(receiver) -> None:
    sender = AlertSender(receiver.url)
    assert sender.send(Alert("breaker", "alice/main", "3 failures: 10003 invalid key", 7))
    sender.close()
    assert receiver.wait_for(1) == [{"kind": "breaker", "subject": "alice/main",
                                     "message": "3 failures: 10003 invalid key", "ts_ms": 7,
                                     "suppressed_since_last": 0}]
    assert sender.sent == 1


def test_alerts_are_throttled_per_kind_and_subject(receiver) -> None:
    clock = Clock()
    sender = AlertSender(receiver.url, throttle_s=300, clock=clock)
    assert sender.send(Alert("breaker", "a", "one"))
    assert not sender.send(Alert("breaker", "a", "two"))
    assert not sender.send(Alert("breaker", "a", "three"))
    assert sender.send(Alert("breaker", "b", "other account"))
    assert sender.send(Alert("error", "a", "other kind"))
    clock.now = 300
    assert sender.send(Alert("breaker", "a", "again"))
    sender.close()
    bodies = receiver.wait_for(4)
    assert [(b["subject"], b["message"], b["suppressed_since_last"]) for b in bodies] == [
        ("a", "one", 0), ("b", "other account", 0), ("a", "other kind", 0), ("a", "again", 2)]


def test_alert_to_a_dead_webhook_is_dropped() -> None:
    sender = AlertSender("http://127.0.0.1:9/nothing-listens", timeout_s=1)
    assert sender.send(Alert("error", "a", "x"))
    sender.close(timeout_s=10)
    assert sender.failed == 1 and sender.sent == 0


def test_alert_send_returns_while_the_webhook_still_holds_the_request() -> None:
    """A slow webhook never holds up the caller (the trading thread)."""
    gate = threading.Event()
    receiver = Receiver(gate=gate)
    try:
        sender = AlertSender(receiver.url, timeout_s=30)
        assert sender.send(Alert("error", "a", "x"))
        assert receiver.arrived.wait(10), "the request reached the receiver"
        assert receiver.bodies == [], "and is still held there, yet send() has returned"
        gate.set()
        sender.close(timeout_s=10)
        assert len(receiver.wait_for(1)) == 1
    finally:
        gate.set()
        receiver.close()


def test_alert_text_is_redacted(receiver, caplog) -> None:
    sender = AlertSender(receiver.url)
    sender.send(Alert("error", "a", "failed with api_secret=hunter2hunter2"))
    sender.close()
    assert "hunter2hunter2" not in json.dumps(receiver.wait_for(1))
