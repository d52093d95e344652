"""The fault admin interface under ``/admin`` on the venue's own port (loopback only).

Options come as query parameters, e.g. ``POST /admin/faults/http_5xx?seconds=10&status=502``;
``account`` (name or api_key) narrows a fault or a drop to one account.
It has no authentication; :mod:`daemons.venue.admin_guard` keeps web pages out.
"""

from __future__ import annotations

import json
import math

from aiohttp import web

from daemons.marketdata.trade import Trade
from daemons.venue import strict_json
from daemons.venue.clock import wall_ms
from daemons.venue.config import shown
from daemons.venue.faults import KINDS, check_options
from daemons.venue.params import VENUE_KEY
from daemons.venue.state import VenueState

STREAMS = ("all", "public", "private")
DROP_MODES = ("abort", "close")


def _server(request: web.Request) -> VenueState:
    return request.app[VENUE_KEY]


def _account(server: VenueState, request: web.Request) -> str | None:
    given = request.query.get("account")
    if not given:
        return None
    if given in server.core.accounts:
        return given
    acct = server.core.by_key.get(given)
    if acct is None:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"unknown account {given!r}"}),
                                 content_type="application/json")
    return acct.name


async def status(request: web.Request) -> web.Response:
    return web.json_response(_server(request).status())


async def set_fault(request: web.Request) -> web.Response:
    server = _server(request)
    kind = request.match_info["kind"]
    if kind not in KINDS:
        return web.json_response({"error": f"unknown fault {kind!r}", "known": KINDS}, status=400)
    options = {k: v for k, v in request.query.items() if k not in ("seconds", "account")}
    try:
        seconds = float(request.query.get("seconds", "30"))
        check_options(kind, seconds, options)
    except ValueError as e:
        return web.json_response({"error": str(e)}, status=400)
    until = wall_ms() + int(seconds * 1000)
    fault = server.faults.set(kind, until, _account(server, request), options)
    return web.json_response({"ok": True, "fault": fault.as_dict()})


async def clear_faults(request: web.Request) -> web.Response:
    kind = request.match_info.get("kind")
    return web.json_response({"ok": True, "cleared": _server(request).faults.clear(kind)})


async def drop(request: web.Request) -> web.Response:
    server = _server(request)
    stream, mode = request.query.get("stream", "all"), request.query.get("mode", "abort")
    if stream not in STREAMS or mode not in DROP_MODES:
        return web.json_response({"error": f"stream must be one of {', '.join(STREAMS)} and "
                                           f"mode one of {', '.join(DROP_MODES)}"}, status=400)
    account = _account(server, request)
    abort = mode == "abort"
    dropped = 0
    if stream in ("all", "public") and account is None:
        dropped += await server.public.drop(None, abort)
    if stream in ("all", "private"):
        dropped += await server.private.drop(account, abort)
    return web.json_response({"ok": True, "dropped": dropped})


async def pause(request: web.Request) -> web.Response:
    _server(request).clock.pause()
    return web.json_response({"ok": True, "paused": True})


async def resume(request: web.Request) -> web.Response:
    _server(request).clock.resume()
    return web.json_response({"ok": True, "paused": False})


async def inject(request: web.Request) -> web.Response:
    """Play given trades of ``?symbol=`` (default: the first listed) now:
    ``[{"side": "Sell", "price": "50000.0", "size": "0.5"}]``."""
    server = _server(request)
    symbol = request.query.get("symbol", server.core.first.symbol)
    if symbol not in server.core.listings:
        return web.json_response({"error": f"symbol {shown(repr(symbol))} is not listed",
                                  "listed": list(server.core.listings)}, status=400)
    now = wall_ms()
    try:
        trades = _trades(await request.read(), server.driver.tape_ms(symbol, now), now)
    except (ValueError, TypeError, KeyError) as e:
        return web.json_response({"error": f"expected a JSON list of trades: {e}"}, status=400)
    for trade in trades:
        server.driver.inject(symbol, trade)
    return web.json_response({"ok": True, "symbol": symbol, "trades": len(trades)})


def _trades(raw: bytes, tape_ms: int, now: int) -> list[Trade]:
    """Parse every row before playing any, so a bad row leaves the tape untouched."""
    rows = strict_json.loads(raw)
    if not isinstance(rows, list):
        raise ValueError("not a list")
    trades = []
    for number, row in enumerate(rows):
        side, price, size = str(row["side"]), float(row["price"]), float(row["size"])
        if side not in ("Buy", "Sell") or not (0 < price < math.inf and 0 < size < math.inf):
            raise ValueError(f"row {number}: side Buy|Sell, positive price and size")
        trades.append(Trade(tape_ms, f"admin-{now}-{number}", side, price, size))
    return trades


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/status", status)
    app.router.add_post("/admin/faults/{kind}", set_fault)
    app.router.add_delete("/admin/faults", clear_faults)
    app.router.add_delete("/admin/faults/{kind}", clear_faults)
    app.router.add_post("/admin/ws/drop", drop)
    app.router.add_post("/admin/tape/pause", pause)
    app.router.add_post("/admin/tape/resume", resume)
    app.router.add_post("/admin/tape/trades", inject)
