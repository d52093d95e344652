"""The private side of capture: one account's order, execution, position, wallet streams.

Each account has its own authenticated connection and REST client (its own rate limit).
Rows are written in the unit of work of the account's owner, so row-level security
checks every one. The credential stays in memory (pybit signs with it); nothing here logs
it. On every connect the reconciler fetches the window since the last message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from daemons.bybit import parsing
from daemons.bybit.endpoints import Endpoints
from daemons.bybit.ratelimit import DEFAULT_LIMITS, RateLimits
from daemons.bybit.rest import BybitRest
from daemons.bybit.streams import Stream, now_ms
from daemons.capture import rows
from daemons.capture.reconciler import Reconciler
from daemons.capture.status import StatusBoard
from daemons.capture.targets import AccountTarget
from daemons.capture.writer import CaptureWriter

log = logging.getLogger(__name__)
TOPICS = ("order", "execution", "position", "wallet")
TABLES = {"order": "orders", "execution": "private_executions", "position": "positions",
          "wallet": "wallets"}


class PrivateCapture:
    """One account's private streams; see the module docstring."""

    def __init__(self, target: AccountTarget, endpoints: Endpoints, writer: CaptureWriter,
                 board: StatusBoard, reconciler: Reconciler, *, ping_interval_s: int = 20,
                 limits: RateLimits = DEFAULT_LIMITS,
                 backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)) -> None:
        self.target = target
        self.writer = writer
        self.board = board
        self.reconciler = reconciler
        self.rest = BybitRest(endpoints, target.api_key, target.secret, limits=limits,
                              backoff_s=backoff_s)
        self.resume_ms: int | None = None
        self.last_message_ms: int | None = None
        self.closed = False
        for topic in TOPICS:
            board.register(f"{target.label}/{topic}", target.label, TABLES[topic])
        self.stream = Stream(target.label, endpoints.ws_private, self.on_message,
                             on_connect=self.on_connect, on_invalid=self.on_invalid,
                             api_key=target.api_key, api_secret=target.secret,
                             ping_interval_s=ping_interval_s,
                             stale_after_s=3.0 * ping_interval_s)
        self.stream.subscribe(list(TOPICS))

    def __repr__(self) -> str:
        return f"PrivateCapture({self.target.name!r})"

    def close(self) -> None:
        """Stop capturing the account (disabled, or its credential rotated).

        Rows already received are still written; reconcile tasks still queued for it are
        skipped (its key may already be revoked).
        """
        self.closed = True
        self.stream.close()

    def on_connect(self, count: int) -> None:
        connected = now_ms()
        if count == 1:
            if self.resume_ms is not None:
                self.reconciler.private_gap(self, self.resume_ms, "startup-resume", connected)
            return
        since = self.last_message_ms or self.resume_ms or connected
        self.reconciler.private_gap(self, since, "reconnect", connected)

    def on_message(self, message: dict[str, Any], local_ms: int) -> None:
        topic = str(message.get("topic"))
        name = f"{self.target.label}/{topic}"
        self.last_message_ms = local_ms
        if topic not in TABLES:
            self._quarantine(topic, message, "unexpected topic", local_ms)
            return
        try:
            created = parsing.creation_time(message, topic)
            items = parsing.data_list(message, topic)
        except parsing.ParseError as e:
            self._quarantine(topic, message, str(e), local_ms)
            return
        batch: list[rows.Row] = []
        source = f"ws.{topic}"
        for item in items:
            if topic == "order":
                row = self.order_row(item, local_ms, source)
                batch.extend([row] if row is not None else [])
            elif topic == "execution":
                row = self.execution_row(item, local_ms, source)
                batch.extend([row] if row is not None else [])
            elif topic == "position":
                row = self.position_row(item, local_ms, created, source)
                batch.extend([row] if row is not None else [])
            else:
                batch.extend(self.wallet_rows(item, created, local_ms, source))
        self.writer.put(self.target.user_id, TABLES[topic], batch)
        if batch:
            self.board.events(name, len(batch), created, local_ms)

    def on_invalid(self, text: str, error: str) -> None:
        self._quarantine(None, text, error, now_ms())

    # -- item to row (None or []: quarantined); shared with the reconciler's REST rows ----

    def order_row(self, item: Any, local_ms: int, source: str) -> rows.Row | None:
        return self._convert(lambda acct: rows.order(
            parsing.order(item, local_ms, str(acct)), item, acct), item, local_ms, source)

    def execution_row(self, item: Any, local_ms: int, source: str) -> rows.Row | None:
        return self._convert(lambda acct: rows.execution(
            parsing.execution(item, local_ms, str(acct)), item, acct), item, local_ms, source)

    def position_row(self, item: Any, local_ms: int, fallback_ms: int,
                     source: str) -> rows.Row | None:
        return self._convert(lambda acct: rows.position(
            parsing.position(item, local_ms, fallback_ms, str(acct)), item, acct),
            item, local_ms, source)

    def wallet_rows(self, item: Any, exchange_ms: int, local_ms: int,
                    source: str) -> list[rows.Row]:
        return self._convert(lambda acct: rows.wallet(
            parsing.wallet(item, exchange_ms, local_ms, str(acct)), item, acct),
            item, local_ms, source) or []

    def _convert(self, build: Callable[[UUID], Any], item: Any, local_ms: int,
                 source: str) -> Any:
        try:
            return build(self.target.account_id)
        except parsing.ParseError as e:
            self._quarantine(source, item, str(e), local_ms)
            return None

    def _quarantine(self, topic: str | None, payload: Any, error: str, local_ms: int) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
        self.writer.put(self.target.user_id, rows.QUARANTINE, [(
            self.target.account_id, topic if topic and "." in topic else "ws.private", topic,
            text, error, None,
            rows.ts(local_ms))])
        name = f"{self.target.label}/{topic}"
        self.board.quarantined(name)
        log.warning("%s message quarantined (%s): %s", self.target.label, topic, error)
