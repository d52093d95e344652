"""The daemon's public market feed: one connection, every traded symbol, fanned out.

Every worker needs the tickers of its symbols (they drive the engines) and shadow runs
need the public trades (they fill the simulated orders). One public connection per daemon
carries both for every symbol any owned account trades, and hands each ticker to the
workers that asked for that symbol, and each trade only to those that asked for trades
(a busy symbol prints hundreds of trades a second: handing each to every worker would
cost more than everything else the workers do). Each event is stamped with the moment
the message was received (``time.perf_counter_ns``, for the decision latency) and with
how many market events of its millisecond the feed has seen, the snapshot's cut. Ticker
deltas are merged per symbol with the normaliser's
:class:`~daemons.bybit.parsing.TickerMerger`, which never takes a bad value; a message
that does not parse is counted and dropped (capture stores and quarantines public data;
the trader only reads it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from daemons.bybit import parsing
from daemons.bybit.endpoints import Endpoints
from daemons.bybit.streams import Stream
from gridcore.events import PublicTradeEvent, TickerEvent

log = logging.getLogger(__name__)

MarketEvent = TickerEvent | PublicTradeEvent
#: ``consumer(event, received_ns, seen)``: ``seen`` counts the symbol's market events (trades
#: and tickers) of the event's millisecond so far, itself included (a snapshot's cut).
Consumer = Callable[[MarketEvent, int, int], None]


class MarketFeed:
    """Tickers and public trades of the subscribed symbols, to their consumers."""

    def __init__(self, endpoints: Endpoints, *, stale_after_s: float = 10.0,
                 ping_interval_s: int = 20) -> None:
        self._consumers: dict[str, list[Consumer]] = {}
        self._trade_consumers: dict[str, list[Consumer]] = {}
        self._mergers: dict[str, parsing.TickerMerger] = {}
        self._last: dict[str, tuple[TickerEvent, int]] = {}
        self._cut: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self.refused = 0
        self.stream = Stream("trade-public", endpoints.ws_public_linear, self._on_message,
                             on_connect=self._on_connect, on_invalid=self._on_invalid,
                             stale_after_s=stale_after_s, ping_interval_s=ping_interval_s)
        self._started = False

    def __repr__(self) -> str:
        return f"MarketFeed(symbols={sorted(self._consumers)})"

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(self._consumers))

    def subscribe(self, symbol: str, consumer: Consumer, *, trades: bool = False) -> None:
        """Hand ``symbol``'s tickers (and its trades, if asked) to ``consumer`` too,
        subscribing the symbol if new.

        A consumer joining a symbol already followed first gets the merged ticker as it
        stands (the exchange sent its snapshot to the first one only): on a quiet market
        no delta may come for a long time, and an engine steps only on tickers.
        """
        with self._lock:
            new = symbol not in self._consumers
            self._consumers.setdefault(symbol, []).append(consumer)
            if trades:
                self._trade_consumers.setdefault(symbol, []).append(consumer)
            if new:
                self._mergers[symbol] = parsing.TickerMerger(symbol)
            current = self._last.get(symbol)
        if current is not None:
            consumer(current[0], time.perf_counter_ns(), current[1])
        if new:
            self.stream.subscribe([f"tickers.{symbol}", f"publicTrade.{symbol}"])
        if not self._started:
            self._started = True
            self.stream.start()

    def unsubscribe(self, consumer: Consumer) -> None:
        """Stop handing events to ``consumer`` (the symbol stays subscribed: cheap)."""
        with self._lock:
            for consumers in (*self._consumers.values(), *self._trade_consumers.values()):
                if consumer in consumers:
                    consumers.remove(consumer)

    def close(self) -> None:
        if self._started:
            self.stream.close()

    def _on_connect(self, count: int) -> None:
        if count > 1:
            for merger in list(self._mergers.values()):
                merger.reset()  # a new connection starts with a snapshot

    def _on_message(self, message: dict[str, Any], local_ms: int) -> None:
        received = time.perf_counter_ns()
        kind, _, symbol = str(message.get("topic")).partition(".")
        with self._lock:
            if kind == "publicTrade":
                consumers = list(self._trade_consumers.get(symbol, ()))
            else:
                consumers = list(self._consumers.get(symbol, ()))
            merger = self._mergers.get(symbol)
        if merger is None:
            return
        try:
            if kind == "tickers":
                events: list[MarketEvent] = [merger.apply(message, local_ms).event]
            elif kind == "publicTrade":
                events = []
                for item in parsing.data_list(message, "publicTrade"):
                    try:
                        events.append(parsing.public_trade(item, local_ms))
                    except parsing.ParseError as e:  # one bad trade costs only itself
                        self.refused += 1
                        log.warning("public trade refused (%s)", e)
            else:
                return
        except parsing.ParseError as e:
            self.refused += 1
            log.warning("public %s message refused (%s)", kind, e)
            return
        for event in events:
            seen = self._count(event)
            if isinstance(event, TickerEvent):
                with self._lock:
                    self._last[symbol] = (event, seen)
            for consumer in consumers:
                consumer(event, received, seen)

    def _count(self, event: MarketEvent) -> int:
        """Market events of the event's symbol and millisecond so far (this one included)."""
        ms, seen = self._cut.get(event.symbol, (-1, 0))
        seen = seen + 1 if event.exchange_ts == ms else 1
        self._cut[event.symbol] = (event.exchange_ts, seen)
        return seen

    def _on_invalid(self, text: str, error: str) -> None:
        self.refused += 1
        log.warning("public message refused (%s)", error)
