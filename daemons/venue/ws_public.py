"""``/v5/public/linear``: publicTrade and tickers topics, pings and acknowledgements."""

from __future__ import annotations

import json
from collections.abc import Callable

from daemons.venue.clock import wall_ms
from daemons.venue.ws_hub import Connection

MAX_TRADES_PER_MESSAGE = 1024


def public_topics(symbol: str) -> set[str]:
    return {f"publicTrade.{symbol}", f"tickers.{symbol}"}


def ack(conn: Connection, payload: dict, op: str, success: bool, message: str = "") -> None:
    """The linear acknowledgement shape: success, ret_msg, conn_id, req_id, op."""
    conn.send({"success": success, "ret_msg": message, "conn_id": conn.conn_id,
               "req_id": str(payload.get("req_id", "")), "op": op})


def handle_public(
    conn: Connection, payload: dict, symbol: str, ticker_snapshot: Callable[[], str],
) -> None:
    """Answer one client message on the public stream."""
    op, args = payload.get("op"), payload.get("args") or []
    if op == "ping":
        ack(conn, payload, "ping", True, "pong")
    elif op in ("subscribe", "unsubscribe") and isinstance(args, list):
        known = public_topics(symbol)
        bad = [a for a in args if a not in known]
        if bad:
            ack(conn, payload, op, False, f"error:handler not found,topic:{bad[0]}")
            return
        if op == "unsubscribe":
            conn.topics.difference_update(args)
            ack(conn, payload, op, True)
            return
        def subscribe() -> None:
            new = [a for a in args if a not in conn.topics]
            conn.topics.update(args)
            ack(conn, payload, op, True)
            if f"tickers.{symbol}" in new:
                conn.send(ticker_snapshot())

        conn.later(subscribe)
    else:
        ack(conn, payload, str(op), False, f"error:unknown op {op!r}")


def trade_messages(symbol: str, items: list[dict]) -> list[str]:
    """``publicTrade`` messages, oldest first, at most 1024 trades each."""
    topic = f"publicTrade.{symbol}"
    now = wall_ms()
    return [
        json.dumps({"topic": topic, "type": "snapshot", "ts": now,
                    "data": items[start : start + MAX_TRADES_PER_MESSAGE]})
        for start in range(0, len(items), MAX_TRADES_PER_MESSAGE)
    ]
