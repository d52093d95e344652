"""The private side of capture: one account's order, execution, position, wallet streams.

Each account has its own authenticated connection and REST client (its own rate limit).
Rows are written in the unit of work of the account's owner, so row-level security
checks every one. The credential stays in memory (pybit signs with it); nothing here logs
it. On every connect the reconciler fetches the window since the last message.

WebSocket pushes and the reconciler's REST pages are decoded by the same decoder as the
trading daemon's (:mod:`daemons.bybit.private`), then stored alike
(:meth:`PrivateCapture.batch_rows`): each bad item is quarantined alone, and an item of
another market (the topics carry every category of a unified account) is counted and
dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from daemons.bybit import private
from daemons.bybit.endpoints import Endpoints
from daemons.bybit.ratelimit import DEFAULT_LIMITS, RateLimits
from daemons.bybit.rest import BybitRest, Page
from daemons.bybit.streams import Stream, now_ms
from daemons.capture.reconciler import Reconciler, quarantine
from daemons.capture.status import StatusBoard
from daemons.db import event_rows as rows
from daemons.db.event_writer import EventWriter
from daemons.db.targets import AccountTarget

log = logging.getLogger(__name__)
TABLES = rows.PRIVATE_TABLES


class AccountPages:
    """One account's REST side: its client and how its pages become stored rows.

    What the reconciler needs of an account (:class:`~daemons.capture.reconciler.
    PrivateAccount`), without the WebSocket: the capture daemon's accounts add their
    streams to it (:class:`PrivateCapture`), and the nightly reconciliation (a Dagster
    asset) fills recorded gaps with it alone, through the same reconciler code.
    """

    def __init__(self, target: AccountTarget, rest: BybitRest, writer: EventWriter,
                 board: StatusBoard) -> None:
        self.target = target
        self.label = f"private:{target.name}"
        self.rest = rest
        self.writer = writer
        self.board = board
        self.closed = False
        for topic in private.TOPICS:
            board.register(f"{self.label}/{topic}", self.label, TABLES[topic])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.target.name!r})"

    def page_rows(self, topic: str, page: Page, local_ms: int) -> list[rows.Row]:
        """The rows of one REST page of ``topic`` (the reconciler's)."""
        batch = private.decode_page(topic, page, local_ms, str(self.target.account_id))
        return self.batch_rows(batch, f"rest.{topic}", local_ms)

    def batch_rows(self, batch: private.Batch, source: str, local_ms: int) -> list[rows.Row]:
        """Rows of every valid linear item; each refused item quarantined, each of
        another market counted on the topic's status stream."""
        name = f"{self.label}/{batch.topic}"
        for _ in batch.other_categories:
            self.board.other_category(name)
        for refused in batch.refused:
            self._quarantine(source, batch.topic, refused.item, refused.reason, local_ms)
        return [row for d in batch.decoded for row in rows.private_rows(
            d.event, d.extras, d.item, self.target.account_id)]

    def _quarantine(self, source: str, topic: str | None, payload: Any, error: str,
                    local_ms: int) -> None:
        name = f"{self.label}/{topic}" if topic in TABLES else None
        quarantine(self.writer, self.board, name, source=source, topic=topic,
                   payload=payload, error=error, local_ms=local_ms,
                   user_id=self.target.user_id, account_id=self.target.account_id)


class PrivateCapture(AccountPages):
    """One account's private streams; see the module docstring."""

    def __init__(self, target: AccountTarget, endpoints: Endpoints, writer: EventWriter,
                 board: StatusBoard, reconciler: Reconciler, *, ping_interval_s: int = 20,
                 limits: RateLimits = DEFAULT_LIMITS,
                 backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)) -> None:
        super().__init__(target, BybitRest(endpoints, target.api_key, target.secret,
                                           limits=limits, backoff_s=backoff_s), writer, board)
        self.reconciler = reconciler
        self.resume_ms: int | None = None
        self.last_message_ms: int | None = None
        self.stream = Stream(self.label, endpoints.ws_private, self.on_message,
                             on_connect=self.on_connect, on_invalid=self.on_invalid,
                             api_key=target.api_key, api_secret=target.secret,
                             ping_interval_s=ping_interval_s,
                             stale_after_s=3.0 * ping_interval_s)
        self.stream.subscribe(list(private.TOPICS))

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
        self.last_message_ms = local_ms
        batch = private.decode_message(message, local_ms, str(self.target.account_id))
        if batch.error is not None:
            self._quarantine("ws.private", batch.topic, message, batch.error, local_ms)
            return
        built = self.batch_rows(batch, f"ws.{batch.topic}", local_ms)
        self.writer.put(self.target.user_id, TABLES[batch.topic], built)
        if built:
            self.board.events(f"{self.label}/{batch.topic}", len(built), batch.message_ms,
                              local_ms)

    def on_invalid(self, text: str, error: str) -> None:
        self._quarantine("ws.private", None, text, error, now_ms())
