"""The private side of capture: one account's order, execution, position, wallet streams.

Each account has its own authenticated connection and REST client (its own rate limit).
Rows are written in the unit of work of the account's owner, so row-level security
checks every one. The credential stays in memory (pybit signs with it); nothing here logs
it. On every connect the reconciler fetches the window since the last message.

WebSocket pushes and the reconciler's REST pages go through the same item-to-rows path
(:meth:`PrivateCapture.item_rows`): each bad item is quarantined alone, and an item of
another market (the topics carry every category of a unified account) is counted and
dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from daemons.bybit import items as decode
from daemons.bybit import parsing
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
TOPICS = ("order", "execution", "position", "wallet")
TABLES = rows.PRIVATE_TABLES
#: Item to rows, given (item, receipt time, message time, account id); may raise ParseError.
Builder = Callable[[Any, int, int, UUID], list[rows.Row]]


def _order(item: Any, local_ms: int, _: int, account_id: UUID) -> list[rows.Row]:
    event = parsing.order(item, local_ms, str(account_id))
    return [rows.order(event, parsing.order_extras(item, local_ms), item, account_id)]


def _execution(item: Any, local_ms: int, _: int, account_id: UUID) -> list[rows.Row]:
    event = parsing.execution(item, local_ms, str(account_id))
    return [rows.execution(event, parsing.execution_extras(item), item, account_id)]


def _position(item: Any, local_ms: int, message_ms: int, account_id: UUID) -> list[rows.Row]:
    event = parsing.position(item, local_ms, message_ms, str(account_id))
    return [rows.position(event, parsing.position_extras(item), item, account_id)]


def _wallet(item: Any, local_ms: int, message_ms: int, account_id: UUID) -> list[rows.Row]:
    event = parsing.wallet(item, message_ms, local_ms, str(account_id))
    return rows.wallet(event, parsing.wallet_extras(item), item, account_id)


BUILDERS: dict[str, Builder] = {"order": _order, "execution": _execution,
                                "position": _position, "wallet": _wallet}


class PrivateCapture:
    """One account's private streams; see the module docstring."""

    def __init__(self, target: AccountTarget, endpoints: Endpoints, writer: EventWriter,
                 board: StatusBoard, reconciler: Reconciler, *, ping_interval_s: int = 20,
                 limits: RateLimits = DEFAULT_LIMITS,
                 backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)) -> None:
        self.target = target
        self.label = f"private:{target.name}"
        self.writer = writer
        self.board = board
        self.reconciler = reconciler
        self.rest = BybitRest(endpoints, target.api_key, target.secret, limits=limits,
                              backoff_s=backoff_s)
        self.resume_ms: int | None = None
        self.last_message_ms: int | None = None
        self.closed = False
        for topic in TOPICS:
            board.register(f"{self.label}/{topic}", self.label, TABLES[topic])
        self.stream = Stream(self.label, endpoints.ws_private, self.on_message,
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
        self.last_message_ms = local_ms
        if topic not in TABLES:
            self._quarantine("ws.private", topic, message, "unexpected topic", local_ms)
            return
        try:
            created = parsing.creation_time(message, topic, local_ms)
            items = parsing.data_list(message, topic)
        except parsing.ParseError as e:
            self._quarantine("ws.private", topic, message, str(e), local_ms)
            return
        batch = self.item_rows(topic, items, local_ms, created, f"ws.{topic}", None)
        self.writer.put(self.target.user_id, TABLES[topic], batch)
        if batch:
            self.board.events(f"{self.label}/{topic}", len(batch), created, local_ms)

    def on_invalid(self, text: str, error: str) -> None:
        self._quarantine("ws.private", None, text, error, now_ms())

    def page_rows(self, topic: str, page: Page, local_ms: int) -> list[rows.Row]:
        """The rows of one REST page of ``topic`` (the reconciler's).

        An item without ``category`` takes the answer's, else ``linear`` (the request's).
        """
        return self.item_rows(topic, page.rows, local_ms, page.time_ms, f"rest.{topic}",
                              page.category or parsing.LINEAR)

    def item_rows(self, topic: str, items: Sequence[Any], local_ms: int, message_ms: int,
                  source: str, category: str | None) -> list[rows.Row]:
        """Rows of every valid linear item; each bad one quarantined, another market's
        counted and dropped. ``message_ms`` is the message's or answer's time."""
        name = f"{self.label}/{topic}"
        build = BUILDERS[topic]
        account_id = self.target.account_id

        def item_to_rows(item: Any) -> list[rows.Row]:
            return build(item, local_ms, message_ms, account_id)

        if topic != "wallet":  # a wallet is account-wide: it has no category
            item_to_rows = decode.linear(item_to_rows, category, topic,
                                         lambda _: self.board.other_category(name))
        built = decode.each(items, item_to_rows, lambda item, e: self._quarantine(
            source, topic, item, str(e), local_ms))
        return [row for item_rows in built for row in item_rows]

    def _quarantine(self, source: str, topic: str | None, payload: Any, error: str,
                    local_ms: int) -> None:
        name = f"{self.label}/{topic}" if topic in TABLES else None
        quarantine(self.writer, self.board, name, source=source, topic=topic,
                   payload=payload, error=error, local_ms=local_ms,
                   user_id=self.target.user_id, account_id=self.target.account_id)
