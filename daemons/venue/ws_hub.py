"""WebSocket connections with their own send queue, and the hubs that fan out to them.

A queue and writer task per connection keep one slow client from holding up the tape
(a client whose queue passes ``MAX_QUEUE`` is dropped, as Bybit drops slow consumers),
and give the stall faults one place to act.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections.abc import Callable

from aiohttp import web

from daemons.venue import strict_json
from daemons.venue.clock import wall_ms
from daemons.venue.faults import Faults

MAX_QUEUE = 20_000
IDLE_TIMEOUT_S = 600
# A subscription takes effect (ack, snapshot, data) this long after the request, as over a
# real network: pybit records a subscription only after sending it, so an instant ack or
# push can reach its callback thread first and kill the stream (KeyError on the req_id).
SUBSCRIBE_DELAY_S = 0.02
log = logging.getLogger(__name__)
_numbers = itertools.count(1)


class Connection:
    """One client: its subscriptions, its account (private) and its outgoing queue."""

    def __init__(self, ws: web.WebSocketResponse, stream: str, faults: Faults,
                 transport: asyncio.BaseTransport | None = None) -> None:
        self.ws = ws
        self.transport = transport
        self.stream = stream
        self.faults = faults
        self.conn_id = f"{uuid.uuid4().hex[:20]}-{next(_numbers)}"
        self.topics: set[str] = set()
        self.account: str | None = None
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None

    def send(self, message: str | dict) -> None:
        """Queue a message; never blocks the caller (the tape or a handler)."""
        if self.queue.qsize() >= MAX_QUEUE:
            log.warning("dropping slow %s client %s", self.stream, self.conn_id)
            asyncio.ensure_future(self.close())
            return
        self.queue.put_nowait(message if isinstance(message, str) else json.dumps(message))

    async def _write(self) -> None:
        kind = f"stall_{self.stream}"
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            fault = self.faults.get(kind, self.account, wall_ms())
            if fault is not None and fault.options.get("mode") == "drop":
                continue
            while fault is not None:
                await asyncio.sleep(0.02)
                fault = self.faults.get(kind, self.account, wall_ms())
            for text in batch:
                await self.ws.send_str(text)

    def later(self, action: Callable[[], None]) -> None:
        """Run ``action`` after the subscription delay (see ``SUBSCRIBE_DELAY_S``)."""
        asyncio.get_running_loop().call_later(SUBSCRIBE_DELAY_S, action)

    def start(self) -> None:
        self.writer = asyncio.ensure_future(self._write())

    async def close(self, abort: bool = False) -> None:
        """Close politely, or (``abort``) cut the TCP connection as a network drop does."""
        if self.writer is not None:
            self.writer.cancel()
        if abort and self.transport is not None:
            self.transport.abort()
            return
        with contextlib.suppress(Exception):
            await self.ws.close()


class Hub:
    """The open connections of one stream."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()

    def broadcast(self, topic: str, text: str, account: str | None = None) -> None:
        for conn in list(self.connections):
            if topic in conn.topics and (account is None or conn.account == account):
                conn.send(text)

    def subscribers(self, topic: str) -> bool:
        return any(topic in c.topics for c in self.connections)

    async def drop(self, account: str | None = None, abort: bool = True) -> int:
        """Cut every connection (or one account's); clients see a dropped socket."""
        chosen = [c for c in self.connections if account is None or c.account == account]
        for conn in chosen:
            await conn.close(abort)
        return len(chosen)


def request_message(data: str | bytes) -> dict:
    """A client message as Bybit decodes it: an object whose ``op`` is a string, ``req_id``
    a string or number and ``args`` a list of strings or numbers (Bybit's ``[]string``
    with its lenient decoder); anything else is a ValueError."""
    payload = strict_json.loads(data)
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object, got {type(payload).__name__}")
    if not isinstance(payload.get("op", ""), str):
        raise ValueError("op: not a string")
    if isinstance(payload.get("req_id"), bool | list | dict):
        raise ValueError("req_id: not number or string")
    args = payload.get("args")
    if args is not None and not (
            isinstance(args, list) and all(_scalar(a) for a in args)):
        raise ValueError("args: []string: not number or string")
    return payload


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def decode_error(conn: Connection, reason: str) -> dict[str, object]:
    """Bybit's answer to a message it cannot decode; the connection stays open."""
    return {"success": False, "ret_msg": f"Failed to decode incoming data: {reason}",
            "conn_id": conn.conn_id, "req_id": "", "op": ""}


async def serve_connection(
    request: web.Request, hub: Hub, stream: str, faults: Faults,
    on_text: Callable[[Connection, dict], None],
) -> web.WebSocketResponse:
    """Accept a socket, answer protocol pings, and pass each decoded message on.

    A message that is not a Bybit request (bad JSON, not an object, malformed ``args``,
    deep nesting, NaN) is answered with Bybit's decode error and the socket stays open.
    """
    ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    conn = Connection(ws, stream, faults, request.transport)
    conn.start()
    hub.connections.add(conn)
    try:
        while True:
            try:
                msg = await ws.receive(timeout=IDLE_TIMEOUT_S)
            except TimeoutError:
                break
            if msg.type not in (web.WSMsgType.TEXT, web.WSMsgType.BINARY):
                break
            try:
                payload = request_message(msg.data)
            except ValueError as e:
                conn.send(decode_error(conn, str(e)))
                continue
            on_text(conn, payload)
    finally:
        hub.connections.discard(conn)
        await conn.close()
    return ws
