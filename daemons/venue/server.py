"""Wiring: one aiohttp app for REST, both WebSocket streams and the admin interface.

:func:`start_venue` runs a venue on its own event loop in a background thread, for
tests and for capture tests that need a real exchange; :func:`serve` runs one in the
foreground for ``gridbot venue``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TypeVar

from aiohttp import web

from daemons.marketdata.trade import Trade
from daemons.venue import admin, admin_guard, rest
from daemons.venue.auth import verify_ws
from daemons.venue.clock import TapeClock, wall_ms
from daemons.venue.config import VenueConfig
from daemons.venue.core import VenueCore
from daemons.venue.faults import Faults
from daemons.venue.params import VENUE_KEY
from daemons.venue.payloads import position_item, wallet_item
from daemons.venue.payloads_market import TickerBuilder
from daemons.venue.ratelimit import IpLimiter, RateLimiter
from daemons.venue.tape import TapeDriver, open_tape
from daemons.venue.ws_hub import Hub, serve_connection
from daemons.venue.ws_private import handle_private, private_message
from daemons.venue.ws_public import handle_public, trade_messages

T = TypeVar("T")


class VenueServer:
    """A whole venue: core, tape, clock, faults, limits and the two WebSocket hubs."""

    def __init__(self, config: VenueConfig, trades: Iterator[Trade] | None = None) -> None:
        self.config = config
        self.core = VenueCore(config)
        self.clock = TapeClock(config.speed)
        self.faults = Faults()
        self.limiter = RateLimiter(config.order_rate_per_s, config.query_rate_per_s)
        self.ip_limiter = IpLimiter()
        self.public, self.private = Hub(), Hub()
        self.ticker = TickerBuilder(config, self.core.market)
        source = trades if trades is not None else open_tape(config.tape, config.seed)
        self.driver = TapeDriver(self.core, self.clock, source, self.publish)
        if config.start_paused:
            self.clock.pause()
        self._ticker_state: dict[str, str] = {}
        self._ticker_cs = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.port = config.port

    def publish(self) -> None:
        """Send everything the engine produced since the last call."""
        box = self.core.engine.outbox
        symbol = self.config.symbol
        if box.public:
            items, box.public = box.public, []
            if self.public.subscribers(f"publicTrade.{symbol}"):
                for text in trade_messages(symbol, items):
                    self.public.broadcast(f"publicTrade.{symbol}", text)
        grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for name, topic, item in box.private:
            grouped[(name, topic)].append(item)
        box.private = []
        mark = self.core.market.last_ticks
        for name in box.dirty:
            acct = self.core.accounts[name]
            grouped[(name, "position")] = [
                position_item(p, acct, mark, ws=True) for p in acct.positions.values()]
            grouped[(name, "wallet")] = [wallet_item(acct, mark)]
        box.dirty = set()
        for (name, topic), items in grouped.items():
            acct = self.core.accounts[name]
            self.private.broadcast(topic, private_message(acct, topic, items), account=name)

    def ticker_snapshot(self) -> str:
        if not self._ticker_state:
            self._ticker_state = self.ticker.ws(wall_ms())
        return self._ticker_message("snapshot", self._ticker_state)

    def _ticker_message(self, kind: str, data: dict[str, str]) -> str:
        self._ticker_cs += 1
        return json.dumps({"topic": f"tickers.{self.config.symbol}", "type": kind,
                           "data": data, "cs": self._ticker_cs, "ts": wall_ms()})

    async def _tickers(self) -> None:
        """Push ticker deltas (changed fields only) every ``ticker_interval_ms``."""
        topic = f"tickers.{self.config.symbol}"
        while True:
            await asyncio.sleep(self.config.ticker_interval_ms / 1000)
            state = self.ticker.ws(wall_ms())
            delta = {k: v for k, v in state.items() if self._ticker_state.get(k) != v}
            self._ticker_state = state
            if delta and self.public.subscribers(topic):
                delta["symbol"] = self.config.symbol
                self.public.broadcast(topic, self._ticker_message("delta", delta))

    def status(self) -> dict[str, object]:
        now = wall_ms()
        return {"tape": self.driver.state(), "paused": self.clock.paused,
                "trades_played": self.driver.fed,
                "last_price": self.core.market.price_str(self.core.market.last_ticks),
                "public_connections": len(self.public.connections),
                "private_connections": len(self.private.connections),
                "faults": self.faults.snapshot(now), "time": now}

    async def _public_ws(self, request: web.Request) -> web.WebSocketResponse:
        symbol = self.config.symbol
        return await serve_connection(
            request, self.public, "public", self.faults,
            lambda conn, msg: handle_public(conn, msg, symbol, self.ticker_snapshot))

    async def _private_ws(self, request: web.Request) -> web.WebSocketResponse:
        def authenticate(args: object) -> object:
            now = wall_ms()
            result = verify_ws(self.core.by_key, args, now)
            if not isinstance(result, str) and self.faults.get("auth_reject", result.name, now):
                return "Request not authorized"
            return result

        return await serve_connection(
            request, self.private, "private", self.faults,
            lambda conn, msg: handle_private(conn, msg, authenticate))  # type: ignore[arg-type]

    def app(self) -> web.Application:
        application = web.Application(middlewares=[admin_guard.guard])
        application[VENUE_KEY] = self
        application.router.add_get("/v5/public/linear", self._public_ws)
        application.router.add_get("/v5/private", self._private_ws)
        admin.add_routes(application)
        application.router.add_route("*", "/v5/{tail:.*}", rest.handle)
        return application

    async def start(self) -> None:
        """Listen, then start the tape and the ticker."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._tasks = [asyncio.ensure_future(self.driver.run()),
                       asyncio.ensure_future(self._tickers())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.public.drop(abort=False)
        await self.private.drop(abort=False)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"


class RunningVenue:
    """A venue serving from a background thread; ``call`` runs code on its loop."""

    def __init__(self, server: VenueServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="venue", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as e:  # reported to the starting thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self, timeout_s: float = 10.0) -> RunningVenue:
        self.thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError("venue did not start")
        if self._error is not None:
            raise self._error
        return self

    def call(self, fn: Callable[[], T], timeout_s: float = 10.0) -> T:
        """Run ``fn`` on the venue's loop (the only safe way to read or change state)."""
        async def wrapper() -> T:
            return fn()
        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout_s)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ws_base_url(self) -> str:
        return self.base_url.replace("http://", "ws://")


def start_venue(config: VenueConfig, trades: Iterator[Trade] | None = None) -> RunningVenue:
    """Start a venue in a background thread and return once it accepts connections."""
    return RunningVenue(VenueServer(config, trades)).start()


async def serve(config: VenueConfig, on_ready: Callable[[VenueServer], None]) -> None:
    """Serve in the foreground until cancelled (``gridbot venue``)."""
    server = VenueServer(config)
    await server.start()
    gc.collect()
    gc.freeze()  # long-lived start-up objects leave the collector: shorter pauses on the tape
    gc.set_threshold(50_000, 20, 20)
    on_ready(server)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
