"""``/v5/private``: auth, the order, execution, position and wallet topics, pings."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

from daemons.venue.accounts import Account
from daemons.venue.clock import wall_ms
from daemons.venue.ws_hub import Connection

PRIVATE_TOPICS = frozenset({"order", "execution", "position", "wallet"})
_ids = itertools.count(1)


def _reply(conn: Connection, payload: dict, op: str, success: bool, message: str) -> None:
    reply: dict[str, object] = {"success": success, "ret_msg": message, "op": op,
                                "conn_id": conn.conn_id}
    if "req_id" in payload:
        reply["req_id"] = str(payload["req_id"])
    conn.send(reply)


def handle_private(
    conn: Connection, payload: dict, authenticate: Callable[[object], Account | str],
) -> None:
    """Answer one client message on the private stream."""
    op, args = payload.get("op"), payload.get("args") or []
    if op == "ping":
        conn.send({"req_id": str(payload.get("req_id", "")), "op": "pong",
                   "args": [str(wall_ms())], "conn_id": conn.conn_id})
    elif op == "auth":
        result = authenticate(args)
        if isinstance(result, str):
            _reply(conn, payload, "auth", False, result)
            return
        conn.account = result.name
        _reply(conn, payload, "auth", True, "")
    elif op in ("subscribe", "unsubscribe") and isinstance(args, list):
        if conn.account is None:
            _reply(conn, payload, op, False, "Request not authorized")
            return
        bad = [a for a in args if a not in PRIVATE_TOPICS]
        if bad:
            _reply(conn, payload, op, False, f"error:handler not found,topic:{bad[0]}")
            return
        if op == "subscribe":
            def subscribe() -> None:
                conn.topics.update(args)
                _reply(conn, payload, op, True, "")

            conn.later(subscribe)
            return
        conn.topics.difference_update(args)
        _reply(conn, payload, op, True, "")
    else:
        _reply(conn, payload, str(op), False, f"error:unknown op {op!r}")


def private_message(acct: Account, topic: str, items: list[dict]) -> str:
    """One private push: ``id``, ``topic``, ``creationTime`` and the ``data`` list."""
    now = wall_ms()
    return json.dumps({"id": f"{acct.uid}_{topic}_{next(_ids)}", "topic": topic,
                       "creationTime": now, "data": items})
