"""Alerts to an operator's webhook: breaker trips, accounts in error, latched safety caps.

An alert is a small JSON document POSTed to a configurable URL (a chat integration, an
incident tool, a local receiver). Alerts are throttled per (kind, subject): an account
whose breaker trips every few seconds sends one alert per throttle window, with the
count of the ones it held back. Sending happens on a background thread so that a slow or
dead webhook never delays trading; a failed send is logged and dropped, never retried in a
loop. Alert texts are redacted like every log line.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from daemons.secrets.redaction import redact

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Alert:
    """What happened (``kind``), to what (``subject``: an account or strategy), and why."""

    kind: str
    subject: str
    message: str
    ts_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)


class AlertSender:
    """Throttled, asynchronous webhook alerts; without a URL alerts are only logged.

    Parameters
    ----------
    url:
        The webhook (HTTP POST, JSON body); None to log only.
    throttle_s:
        At most one alert per (kind, subject) in this many seconds.
    """

    def __init__(self, url: str | None, *, throttle_s: float = 300.0, timeout_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= throttle_s < float("inf") or not 0 < timeout_s < float("inf"):
            raise ValueError("alerts: throttle_s must be >= 0 and timeout_s > 0, both finite")
        self.url = url
        self.throttle_s = throttle_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}
        self._queue: queue.Queue[dict | None] = queue.Queue(maxsize=1000)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"AlertSender(webhook={'set' if self.url else 'none'})"

    def send(self, alert: Alert) -> bool:
        """Queue ``alert`` unless its (kind, subject) alerted within the throttle window."""
        key = (alert.kind, alert.subject)
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.throttle_s:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._last[key] = now
            suppressed = self._held.pop(key, 0)
        document = {"kind": alert.kind, "subject": alert.subject,
                    "message": redact(alert.message), "ts_ms": alert.ts_ms,
                    "suppressed_since_last": suppressed}
        log.warning("alert %s %s: %s", alert.kind, alert.subject, document["message"])
        if self.url is None:
            return True
        self._ensure_thread()
        try:
            self._queue.put_nowait(document)
        except queue.Full:
            log.error("alert queue full: %s %s dropped", alert.kind, alert.subject)
            return False
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (up to ``timeout_s``), then stop the sender thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trade-alerts",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        session = requests.Session()
        while True:
            document = self._queue.get()
            if document is None:
                return
            try:
                response = session.post(self.url, data=json.dumps(document),
                                        headers={"Content-Type": "application/json"},
                                        timeout=self.timeout_s)
                response.raise_for_status()
                self.sent += 1
            except requests.RequestException as e:
                self.failed += 1
                log.error("alert %s not delivered (%s)", document["kind"], type(e).__name__)
