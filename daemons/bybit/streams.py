"""Bybit v5 WebSocket streams on pybit: heartbeat, reconnect, resubscribe, gap detection.

pybit (``pybit.unified_trading.WebSocket``) keeps the connection: a thread per socket,
protocol pings plus Bybit's text ``{"op": "ping"}``, authentication of private streams,
and resending the recorded subscriptions after every connect. This module adds what a
capture daemon needs around it:

* a configurable base URL (pybit hard-codes Bybit's hosts): the host of every URL pybit
  builds is rewritten in ``_connect``, idempotently, because a reconnect passes the
  rewritten URL again;
* one supervisor thread per stream that reconnects with exponential backoff (reset after
  a success), instead of pybit's immediate retry loop, and restarts a connection that has
  been silent for ``stale_after_s`` (the stale-stream watchdog);
* a message path that never raises: pybit closes a stream for good when a callback
  raises, so decoding errors go to ``on_invalid`` and handler errors are logged;
* :class:`TradeContinuity`, which finds the gaps a reconnect or a jump in ``seq`` left
  in a public trade stream, for the reconciler to fill from REST.

Ticker deltas reach the handler as Bybit sends them (``TickerMerger`` merges them), not
through pybit's merge, whose live dict would be shared with its thread.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import websocket
from pybit.unified_trading import WebSocket

from daemons.bybit.parsing import ParseError, decode
from daemons.secrets.envelope import Secret
from gridcore.events import PublicTradeEvent

log = logging.getLogger(__name__)

_HOST = re.compile(r"^wss?://[^/]+")
MessageHandler = Callable[[dict[str, Any], int], None]
InvalidHandler = Callable[[str, str], None]


def utf8_check_is_compiled() -> bool:
    """Whether websocket-client found its C UTF-8 validator (the ``wsaccel`` package).

    Without it every received text frame is validated byte by byte in Python: about
    0.4 µs a byte, a third of a core for a 5,000 trades/s public stream, and the largest
    share of capture's latency tail. websocket-client imports it at import time, if found.
    """
    return "wsaccel.utf8validator" in sys.modules


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class _PybitSocket(WebSocket):
    """pybit's WebSocket with our URL, message path and error handling."""

    def __init__(self, owner: Stream, **kwargs: Any) -> None:
        self._owner = owner
        try:
            super().__init__(**kwargs)
        except websocket.WebSocketException as e:  # the supervisor tries again
            log.warning("%s: first connection failed (%s)", owner.name, type(e).__name__)

    def _connect(self, url: str) -> None:
        super()._connect(_HOST.sub(self._owner.ws_base, url))
        self._owner._connected()

    def _on_message(self, message: str) -> None:
        self._owner._receive(message)

    def _on_error(self, error: Exception) -> None:
        self._owner._socket_error(error)


@dataclass
class StreamStats:
    """Counters of one stream, read by the status snapshot."""

    connects: int = 0
    messages: int = 0
    invalid: int = 0
    stale_restarts: int = 0
    auth_failures: int = 0
    handler_errors: int = 0
    last_message_ms: int = 0

    @property
    def reconnects(self) -> int:
        return max(self.connects - 1, 0)


class Stream:
    """One Bybit WebSocket connection (public linear or private) kept alive.

    Parameters
    ----------
    name:
        For logs and status, e.g. ``public`` or ``private:alice``.
    url:
        The full stream URL (``Endpoints.ws_public_linear`` or ``ws_private``).
    on_message:
        Called with each decoded data message and its receipt time (ms). Runs on the
        socket's thread; exceptions are caught and counted.
    on_connect:
        Called after every connect, with the connect count (1 the first time), before
        the resubscription's data arrives. Keep it short.
    on_invalid:
        Called with the raw text and the error of a frame that is not a JSON object.
    api_key, api_secret:
        Private streams only; the secret stays in pybit's memory to sign the auth.
    stale_after_s:
        Restart a connection silent for this long (None: never).
    """

    def __init__(self, name: str, url: str, on_message: MessageHandler, *,
                 on_connect: Callable[[int], None] | None = None,
                 on_invalid: InvalidHandler | None = None, api_key: str | None = None,
                 api_secret: Secret | None = None, ping_interval_s: int = 20,
                 stale_after_s: float | None = None, backoff_base_s: float = 0.1,
                 backoff_max_s: float = 10.0, poll_s: float = 0.02) -> None:
        match = _HOST.match(url)
        if match is None:
            raise ValueError(f"{name}: stream URL must start with ws:// or wss://")
        self.name = name
        self.ws_base = match.group(0)
        self._private = url.rstrip("/").endswith("/private")
        self._channel = "private" if self._private else url.rstrip("/").rsplit("/", 1)[-1]
        self._on_message = on_message
        self._on_connect = on_connect
        self._on_invalid = on_invalid
        self._api_key = api_key
        self._api_secret = api_secret
        self.ping_interval_s = ping_interval_s
        # Pongs count as frames: a quiet but healthy connection speaks every ping interval.
        self.stale_after_s = None if stale_after_s is None else \
            max(stale_after_s, 1.5 * ping_interval_s)
        self.last_outage_s = 0.0
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.poll_s = poll_s
        self.stats = StreamStats()
        self._last_mono = time.monotonic()
        self._topics: list[str] = []
        self._socket: _PybitSocket | None = None
        self._closing = threading.Event()
        self._auth_refused = threading.Event()
        self._strikes = 0  # failed connects or refused auths in a row: the backoff step
        self._supervisor: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Stream({self.name!r})"

    # -- public API ------------------------------------------------------------------------

    def subscribe(self, topics: Sequence[str]) -> None:
        """Subscribe now if connected, and after every reconnect (pybit resends them)."""
        topics = [t for t in topics if t not in self._topics]
        if not topics:
            return
        self._topics.extend(topics)
        sock = self._socket
        if sock is not None:
            self._send_subscription(sock, topics)

    def start(self) -> Stream:
        """Connect (or keep trying in the background) and start the supervisor."""
        if not utf8_check_is_compiled():
            log.warning("%s: wsaccel is not installed; websocket-client checks UTF-8 in pure "
                        "Python, which is slow at high message rates", self.name)
        self._supervisor = threading.Thread(target=self._supervise, name=f"ws-{self.name}",
                                            daemon=True)
        self._open()
        self._supervisor.start()
        return self

    def close(self) -> None:
        """Stop reconnecting and close the socket."""
        self._closing.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
        sock = self._socket
        if sock is not None:
            try:
                sock.exit()
            except Exception as e:  # closing a dead socket must not stop a shutdown
                log.debug("%s: close: %s", self.name, type(e).__name__)

    def is_connected(self) -> bool:
        sock = self._socket
        return sock is not None and sock.is_connected()

    def restart(self) -> None:
        """Drop the connection; the supervisor reconnects (used by the stale watchdog)."""
        sock = self._socket
        if sock is not None and hasattr(sock, "ws"):
            try:
                sock.ws.close()
            except Exception as e:
                log.debug("%s: restart: %s", self.name, type(e).__name__)

    @property
    def silent_s(self) -> float:
        """Seconds since the last frame of any kind (data, pong, acknowledgement)."""
        return time.monotonic() - self._last_mono

    # -- internals -------------------------------------------------------------------------

    def _open(self) -> None:
        kwargs: dict[str, Any] = {"channel_type": self._channel, "testnet": False,
                                  "ping_interval": self.ping_interval_s,
                                  "ping_timeout": min(10, self.ping_interval_s / 2),
                                  "retries": 2, "restart_on_error": False}
        if self._private:
            kwargs["api_key"] = self._api_key
            kwargs["api_secret"] = (self._api_secret.reveal()
                                    if self._api_secret is not None else None)
        self._socket = _PybitSocket(self, **kwargs)
        if self._topics:
            self._send_subscription(self._socket, self._topics)

    def _send_subscription(self, sock: _PybitSocket, topics: Sequence[str]) -> None:
        # Recorded before it is sent, so that the acknowledgement always finds it.
        req_id = str(uuid.uuid4())
        message = json.dumps({"op": "subscribe", "req_id": req_id, "args": list(topics)})
        with self._lock:
            sock.subscriptions[req_id] = message
        if sock.is_connected():
            try:
                sock.ws.send(message)
            except websocket.WebSocketException as e:  # resent after the reconnect
                log.debug("%s: subscribe not sent (%s)", self.name, type(e).__name__)

    def _reconnect(self) -> None:
        sock = self._socket
        if sock is None:
            self._open()
            return
        try:
            sock.exit()
        except Exception as e:
            log.debug("%s: exit before reconnect: %s", self.name, type(e).__name__)
        sock._reset()
        try:
            sock._connect(sock.WS_URL)
        except websocket.WebSocketException as e:
            raise ConnectionError(f"{self.name}: reconnect failed ({type(e).__name__})") from None

    def _supervise(self) -> None:
        # Only this thread closes and reopens sockets: closing one from its own callback
        # thread races websocket-client's receive loop.
        while not self._closing.wait(self.poll_s):
            if self.is_connected():
                if self._auth_refused.is_set():
                    self._auth_refused.clear()
                    self._strikes += 1
                    self.restart()
                elif self.stale_after_s is not None and self.silent_s > self.stale_after_s:
                    self.stats.stale_restarts += 1
                    log.warning("%s: silent for %.1f s, reconnecting", self.name, self.silent_s)
                    self.restart()
                continue
            if self._strikes:
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (self._strikes - 1))
                if self._closing.wait(delay):
                    break
            try:
                self._reconnect()
            except Exception as e:  # keep supervising whatever went wrong
                log.warning("%s: %s", self.name, e)
            if not self.is_connected():
                self._strikes += 1

    def _connected(self) -> None:
        self.last_outage_s = self.silent_s
        self._last_mono = time.monotonic()
        self.stats.connects += 1
        count = self.stats.connects
        if count > 1:
            log.info("%s: reconnected (%d reconnects)", self.name, count - 1)
        if self._on_connect is not None:
            try:
                self._on_connect(count)
            except Exception:
                self.stats.handler_errors += 1
                log.exception("%s: on_connect failed", self.name)

    def _socket_error(self, error: Exception) -> None:
        if not self._closing.is_set():
            log.warning("%s: connection lost (%s)", self.name, type(error).__name__)

    def _receive(self, text: str) -> None:
        local = now_ms()
        self._last_mono = time.monotonic()
        try:
            message = decode(text)
        except ParseError as e:
            self.stats.invalid += 1
            self._invalid(text, str(e))
            return
        if "topic" in message and "data" in message:
            self._strikes = 0
            self.stats.messages += 1
            self.stats.last_message_ms = local
            try:
                self._on_message(message, local)
            except Exception:
                self.stats.handler_errors += 1
                log.exception("%s: message handler failed", self.name)
            return
        self._control(message, text)

    def _control(self, message: dict[str, Any], text: str) -> None:
        op = message.get("op")
        if op == "pong" or message.get("ret_msg") == "pong":
            return
        if op == "auth":
            if message.get("success") is not True:
                self.stats.auth_failures += 1
                log.error("%s: authentication refused: %.120s", self.name,
                          message.get("ret_msg", ""))
                self._auth_refused.set()
            return
        if op in ("subscribe", "unsubscribe"):
            if message.get("success") is True:
                self._strikes = 0
            elif not self._auth_refused.is_set():
                log.error("%s: %s refused: %.200s", self.name, op, message.get("ret_msg", ""))
            return
        self.stats.invalid += 1
        self._invalid(text, "unexpected message")

    def _invalid(self, text: str, error: str) -> None:
        if self._on_invalid is None:
            return
        try:
            self._on_invalid(text, error)
        except Exception:
            self.stats.handler_errors += 1
            log.exception("%s: on_invalid failed", self.name)


# -- gap detection --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TradeMark:
    """Where a trade stream stood: the last trade's time, id and sequence."""

    ts_ms: int
    trade_id: str
    seq: int

    @classmethod
    def of(cls, trade: PublicTradeEvent) -> TradeMark:
        return cls(trade.exchange_ts, trade.trade_id, trade.seq)


@dataclass(frozen=True, slots=True)
class TradeGap:
    """Trades may be missing between ``before`` (last seen) and ``after`` (first seen)."""

    symbol: str
    reason: str
    before: TradeMark
    after: TradeMark


class TradeContinuity:
    """Watches one symbol's trade stream for gaps.

    A reconnect always opens a gap check (the trades sent while the socket was down are
    gone). With ``contiguous_seq`` (the local venue numbers trades 1, 2, 3, ...) a jump in
    ``seq`` also does, which catches silent losses without a reconnect. Bybit's ``seq``
    only increases, so on Bybit only reconnects, silence and the timer trigger checks.
    """

    def __init__(self, symbol: str, contiguous_seq: bool) -> None:
        self.symbol = symbol
        self.contiguous_seq = contiguous_seq
        self.last: TradeMark | None = None
        self._resumed = False
        self._lock = threading.Lock()

    def reconnected(self) -> None:
        with self._lock:
            self._resumed = True

    def observe(self, trades: Sequence[PublicTradeEvent]) -> TradeGap | None:
        """Record a message's trades (oldest first); return the gap before them, if any."""
        if not trades:
            return None
        with self._lock:
            gap = None
            last = self.last
            if last is not None:
                first = TradeMark.of(trades[0])
                if self._resumed:
                    gap = TradeGap(self.symbol, "reconnect", last, first)
                elif self.contiguous_seq and first.seq > last.seq + 1:
                    gap = TradeGap(self.symbol, "sequence", last, first)
            if gap is None and self.contiguous_seq:
                for a, b in zip(trades, trades[1:], strict=False):
                    if b.seq > a.seq + 1:
                        gap = TradeGap(self.symbol, "sequence", TradeMark.of(a), TradeMark.of(b))
                        break
            self._resumed = False
            newest = TradeMark.of(trades[-1])
            if last is None or (newest.ts_ms, newest.seq) >= (last.ts_ms, last.seq):
                self.last = newest
            return gap
