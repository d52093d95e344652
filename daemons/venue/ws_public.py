"""``/v5/public/linear``: publicTrade and tickers topics of every listed symbol, pings
and acknowledgements."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from daemons.venue.clock import wall_ms
from daemons.venue.payloads_market import TickerBuilder
from daemons.venue.ws_hub import Connection

MAX_TRADES_PER_MESSAGE = 1024


class TickerFeed:
    """One symbol's ``tickers`` topic: a snapshot on subscribe, then deltas carrying only
    the fields that changed since the last push, with Bybit's cross sequence ``cs``."""

    def __init__(self, builder: TickerBuilder) -> None:
        self.builder = builder
        self.symbol = builder.market.symbol
        self.topic = f"tickers.{self.symbol}"
        self._state: dict[str, str] = {}
        self._cs = 0

    def snapshot(self) -> str:
        now = wall_ms()
        if not self._state:
            self._state = self.builder.ws(now)
        return self._message("snapshot", self._state, now)

    def forget(self) -> None:
        """Drop the last pushed state: the next snapshot is built afresh."""
        self._state = {}

    def delta(self, now_ms: int) -> str | None:
        """The delta at venue time ``now_ms``, or None when nothing changed (the state
        moves on either way)."""
        state = self.builder.ws(now_ms)
        delta = {k: v for k, v in state.items() if self._state.get(k) != v}
        self._state = state
        if not delta:
            return None
        delta["symbol"] = self.symbol
        return self._message("delta", delta, now_ms)

    def _message(self, kind: str, data: dict[str, str], now_ms: int) -> str:
        self._cs += 1
        return json.dumps({"topic": self.topic, "type": kind, "data": data, "cs": self._cs,
                           "ts": now_ms})


def ack(conn: Connection, payload: dict, op: str, success: bool, message: str = "") -> None:
    """The linear acknowledgement shape: success, ret_msg, conn_id, req_id, op."""
    conn.send({"success": success, "ret_msg": message, "conn_id": conn.conn_id,
               "req_id": str(payload.get("req_id", "")), "op": op})


def public_topics(symbols: Iterable[str]) -> frozenset[str]:
    """Every topic the public stream serves: trades and tickers of each listed symbol."""
    return frozenset(f"{kind}.{s}" for s in symbols for kind in ("publicTrade", "tickers"))


def handle_public(conn: Connection, payload: dict, known: frozenset[str],
                  tickers: Mapping[str, TickerFeed]) -> None:
    """Answer one client message on the public stream; ``tickers`` by topic name."""
    op, args = payload.get("op"), payload.get("args") or []
    if op == "ping":
        ack(conn, payload, "ping", True, "pong")
    elif op in ("subscribe", "unsubscribe") and isinstance(args, list):
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
            for topic in new:
                feed = tickers.get(topic)
                if feed is not None:
                    conn.send(feed.snapshot())

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
