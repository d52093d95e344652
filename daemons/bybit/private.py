"""One account's private streams decoded: order, execution, position and wallet items into
gridcore events, for capture and for the trading daemon alike.

A WebSocket message (:func:`decode_message`) or a REST page of the same topic
(:func:`decode_page`) becomes a :class:`Batch`: per valid linear item its event, the
extra columns its table keeps (``parsing.*_extras``) and the item itself (its row's
``raw_json``); per item the normaliser refused, the item and the reason; the categories
of other markets' items, which are dropped (the all-in-one private topics carry every
market of a unified account; see ``parsing.other_category``). A bad item costs only
itself. A message that cannot be read at all (another topic, no ``creationTime``, no
``data`` list) is refused whole: :attr:`Batch.error`.

Nothing here stores or logs: capture quarantines what is refused and counts what is
dropped, the trading daemon logs it; both build their rows with
:func:`daemons.db.event_rows.private_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from daemons.bybit import items as each_item
from daemons.bybit import parsing
from daemons.bybit.rest import Page
from gridcore.events import ExecutionEvent, OrderUpdateEvent, PositionEvent, WalletEvent

TOPICS = ("order", "execution", "position", "wallet")
PrivateEvent = OrderUpdateEvent | ExecutionEvent | PositionEvent | WalletEvent
#: (item, receipt time, message time, account id) to (event, extra columns); may raise
#: ParseError.
_Decoder = Callable[[Any, int, int, str | None], tuple[PrivateEvent, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Decoded:
    """One valid linear item: its event, its table's extra columns, the item as sent."""

    event: PrivateEvent
    extras: dict[str, Any]
    item: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Refused:
    """One item the normaliser refused, and why (the field that is wrong)."""

    item: Any
    reason: str


@dataclass(frozen=True, slots=True)
class Batch:
    """A message's or page's items decoded; see the module docstring.

    ``message_ms`` is the message's ``creationTime`` or the answer's time (None when the
    message was refused whole, with ``error`` saying why).
    """

    topic: str
    message_ms: int | None
    decoded: list[Decoded] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    other_categories: list[str] = field(default_factory=list)
    error: str | None = None


def _order(item: Any, local_ms: int, _: int, account_id: str | None,
           ) -> tuple[PrivateEvent, dict[str, Any]]:
    return parsing.order(item, local_ms, account_id), parsing.order_extras(item, local_ms)


def _execution(item: Any, local_ms: int, _: int, account_id: str | None,
               ) -> tuple[PrivateEvent, dict[str, Any]]:
    return parsing.execution(item, local_ms, account_id), parsing.execution_extras(item)


def _position(item: Any, local_ms: int, message_ms: int, account_id: str | None,
              ) -> tuple[PrivateEvent, dict[str, Any]]:
    return (parsing.position(item, local_ms, message_ms, account_id),
            parsing.position_extras(item))


def _wallet(item: Any, local_ms: int, message_ms: int, account_id: str | None,
            ) -> tuple[PrivateEvent, dict[str, Any]]:
    return parsing.wallet(item, message_ms, local_ms, account_id), parsing.wallet_extras(item)


_DECODERS: dict[str, _Decoder] = {"order": _order, "execution": _execution,
                                  "position": _position, "wallet": _wallet}


def decode_message(message: Mapping[str, Any], local_ms: int, account_id: str | None = None,
                   ) -> Batch:
    """A private WebSocket message (as the stream decoded it); its items carry their own
    category."""
    topic = str(message.get("topic"))
    if topic not in TOPICS:
        return Batch(topic, None, error="unexpected topic")
    try:
        created = parsing.creation_time(message, topic, local_ms)
        items = parsing.data_list(message, topic)
    except parsing.ParseError as e:
        return Batch(topic, None, error=str(e))
    return decode_items(topic, items, local_ms, created, None, account_id)


def decode_page(topic: str, page: Page, local_ms: int, account_id: str | None = None,
                ) -> Batch:
    """One REST page of ``topic``: an item without ``category`` takes the answer's, else
    ``linear`` (the request's)."""
    return decode_items(topic, page.rows, local_ms, page.time_ms,
                        page.category or parsing.LINEAR, account_id)


def decode_items(topic: str, items: Sequence[Any], local_ms: int, message_ms: int,
                 category: str | None, account_id: str | None = None) -> Batch:
    """The items of one message or page of ``topic`` (one of :data:`TOPICS`).

    ``category`` is what an item naming none belongs to (None: such an item is refused,
    as on the WebSocket). A wallet is account-wide: it has no category.
    """
    decode = _DECODERS[topic]
    batch = Batch(topic, message_ms)

    def one(item: Any) -> Decoded:
        event, extras = decode(item, local_ms, message_ms, account_id)
        return Decoded(event, extras, item)

    build: Callable[[Any], Decoded | None] = one
    if topic != "wallet":
        build = each_item.linear(one, category, topic, batch.other_categories.append)
    batch.decoded.extend(each_item.each(
        items, build, lambda item, e: batch.refused.append(Refused(item, str(e)))))
    return batch
