"""Wiring: one aiohttp app for REST, both WebSocket streams and the admin interface.

:func:`start_venue` runs a venue on its own event loop in a background thread, for
tests and for capture tests that need a real exchange; :func:`serve` runs one in the
foreground for ``gridbot venue``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from aiohttp import web

from daemons.marketdata.trade import Trade
from daemons.venue import admin, admin_guard, rest
from daemons.venue.auth import verify_ws
from daemons.venue.clock import wall_ms
from daemons.venue.config import VenueConfig
from daemons.venue.params import VENUE_KEY
from daemons.venue.state import VenueState
from daemons.venue.ws_hub import serve_connection
from daemons.venue.ws_private import handle_private
from daemons.venue.ws_public import handle_public

T = TypeVar("T")


class VenueServer(VenueState):
    """A whole venue on the network: REST, both WebSocket streams and ``/admin``."""

    def __init__(self, config: VenueConfig,
                 tapes: Mapping[str, Iterator[Trade]] | None = None) -> None:
        super().__init__(config, tapes)
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None

    async def _public_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await serve_connection(
            request, self.public, "public", self.faults,
            lambda conn, msg: handle_public(conn, msg, self.public_topics, self.tickers))

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
        """Listen, then start the tapes and the tickers."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._tasks = [asyncio.ensure_future(self.driver.run()),
                       asyncio.ensure_future(self.push_tickers())]

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


def start_venue(config: VenueConfig,
                tapes: Mapping[str, Iterator[Trade]] | None = None) -> RunningVenue:
    """Start a venue in a background thread and return once it accepts connections;
    ``tapes`` (symbol to trades) replace the tapes of ``config.tape``."""
    return RunningVenue(VenueServer(config, tapes)).start()


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
