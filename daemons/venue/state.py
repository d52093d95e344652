"""What a running venue holds, apart from its sockets: the core, the tapes and their clock,
faults, rate limits, the two WebSocket hubs and each symbol's ticker feed.

The REST and admin handlers work on a :class:`VenueState`; ``server.VenueServer`` adds
the aiohttp wiring on top. Keeping this apart from the server keeps the imports one-way:
the server imports the handlers, the handlers import this module.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator, Mapping

from daemons.marketdata.trade import Trade
from daemons.venue.clock import TapeClock, wall_ms
from daemons.venue.config import VenueConfig
from daemons.venue.core import VenueCore
from daemons.venue.faults import Faults
from daemons.venue.payloads import position_item, wallet_item
from daemons.venue.payloads_market import TickerBuilder
from daemons.venue.ratelimit import IpLimiter, RateLimiter
from daemons.venue.tape import TapeDriver, symbol_tapes
from daemons.venue.ws_hub import Hub
from daemons.venue.ws_private import private_message
from daemons.venue.ws_public import TickerFeed, public_topics, trade_messages


class VenueState:
    """A whole venue but its network: ``tapes`` (symbol to trades) replace ``config.tape``."""

    def __init__(self, config: VenueConfig,
                 tapes: Mapping[str, Iterator[Trade]] | None = None) -> None:
        self.config = config
        self.core = VenueCore(config)
        self.clock = TapeClock(config.speed)
        self.faults = Faults()
        self.limiter = RateLimiter(config.order_rate_per_s, config.query_rate_per_s)
        self.ip_limiter = IpLimiter()
        self.public, self.private = Hub(), Hub()
        self.public_topics = public_topics(self.core.listings)
        self.tickers = {feed.topic: feed for feed in (
            TickerFeed(TickerBuilder(config, listing.market))
            for listing in self.core.listings.values())}
        self.driver = TapeDriver(self.core, self.clock,
                                 tapes if tapes is not None else symbol_tapes(config),
                                 self.publish)
        if config.start_paused:
            self.clock.pause()
        self.port = config.port

    def publish(self) -> None:
        """Send everything the engines produced since the last call."""
        for symbol, listing in self.core.listings.items():
            engine = listing.engine
            if engine.prints:
                items, engine.prints = engine.prints, []
                topic = f"publicTrade.{symbol}"
                if self.public.subscribers(topic):
                    for text in trade_messages(symbol, items):
                        self.public.broadcast(topic, text)
        box = self.core.outbox
        if not (box.private or box.dirty):
            return
        grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for name, topic, item in box.private:
            grouped[(name, topic)].append(item)
        box.private = []
        marks = self.core.marks()
        for name, symbol in sorted(box.dirty):
            acct = self.core.accounts[name]
            grouped[(name, "position")] += [position_item(p, acct, marks[symbol], ws=True)
                                            for p in acct.sides(symbol)]
            grouped[(name, "wallet")] = [wallet_item(acct, marks)]
        box.dirty = set()
        for (name, topic), items in grouped.items():
            acct = self.core.accounts[name]
            self.private.broadcast(topic, private_message(acct, topic, items), account=name)

    async def push_tickers(self) -> None:
        """Push each symbol's ticker delta every ``ticker_interval_ms``."""
        while True:
            await asyncio.sleep(self.config.ticker_interval_ms / 1000)
            self.push_ticker_deltas()

    def push_ticker_deltas(self) -> None:
        """Each followed symbol's ticker delta, stamped now; a ticker nobody follows is not
        built (its next subscriber gets a fresh snapshot).

        Every trade due by now is played and published first, so a ticker follows every
        trade stamped at or before it on each connection, and reflects them: a tape loop
        running late would otherwise play trades after a later-stamped ticker, stamped with
        their due times, and a client stepping events as they arrive would see a market a
        replay in exchange order never shows.
        """
        now = self.clock.now()
        self.driver.catch_up(now)
        for topic, feed in self.tickers.items():
            if not self.public.subscribers(topic):
                feed.forget()
                continue
            text = feed.delta(now)
            if text is not None:
                self.public.broadcast(topic, text)

    def status(self) -> dict[str, object]:
        """``/admin/status``: the tape, connections, faults, and each symbol's market."""
        now = wall_ms()
        first = self.core.first
        symbols = {symbol: {"tape": self.driver.symbol_state(symbol),
                            "trades_played": self.driver.tapes[symbol].fed,
                            "last_price": listing.market.price_str(listing.market.last_ticks)}
                   for symbol, listing in self.core.listings.items()}
        return {"tape": self.driver.state(), "paused": self.clock.paused,
                "trades_played": self.driver.fed,
                "last_price": first.market.price_str(first.market.last_ticks),
                "symbols": symbols,
                "public_connections": len(self.public.connections),
                "private_connections": len(self.private.connections),
                "faults": self.faults.snapshot(now), "time": now}
