"""The REST front door: faults, IP limit, signature, rate limit, envelope.

Every response uses Bybit's envelope with HTTP 200, errors included (pybit maps a
non-zero retCode to ``InvalidRequestError``); only the IP limit (403), fault-injected
5xx and unknown paths (404) use other HTTP statuses, as Bybit does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from daemons.venue import rest_account, rest_market, rest_trade
from daemons.venue.auth import verify_rest
from daemons.venue.clock import wall_ms
from daemons.venue.errors import BAD_KEY, RATE_LIMIT, VenueError, bad_param
from daemons.venue.params import VENUE_KEY, Call
from daemons.venue.ratelimit import ORDER_PATHS, Verdict

if TYPE_CHECKING:
    from daemons.venue.server import VenueServer

Handler = Callable[[Call], dict]
PUBLIC: dict[tuple[str, str], Handler] = dict(rest_market.ROUTES)
PRIVATE: dict[tuple[str, str], Handler] = {**rest_trade.ROUTES, **rest_account.ROUTES}


def envelope(code: int, message: str, result: dict, now_ms: int) -> dict[str, Any]:
    return {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {},
            "time": now_ms}


def _params(method: str, raw: bytes) -> dict[str, Any]:
    if method == "GET":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        body = json.loads(raw or b"{}")
    except ValueError as e:
        raise bad_param("params error: body is not JSON") from e
    if not isinstance(body, dict):
        raise bad_param("params error: body must be a JSON object")
    return body


def _server_error(status: str) -> web.Response:
    code = int(status) if status.isdigit() and 500 <= int(status) <= 599 else 503
    return web.Response(status=code, text=f"{code} venue fault injected")


def _limits(server: VenueServer, call_path: str, name: str, uid: int, now: int) -> Verdict:
    if server.faults.get("rate_limit", name, now) is not None:
        return Verdict(False, server.limiter.limit_for(call_path), 0, now + 1000)
    return server.limiter.hit(uid, call_path, now)


async def handle(request: web.Request) -> web.Response:
    """Answer one ``/v5/...`` request."""
    server: VenueServer = request.app[VENUE_KEY]
    key = (request.method, request.path)
    handler = PUBLIC.get(key) or PRIVATE.get(key)
    if handler is None:
        return web.Response(status=404, text="404 page not found")
    now = wall_ms()
    if not server.ip_limiter.allow(request.remote or "", now):
        return web.Response(status=403, text="403 Forbidden")
    fault = server.faults.get("http_5xx", None, now)
    if fault is not None:
        return _server_error(fault.options.get("status", "503"))
    if request.method == "GET":
        raw = request.raw_path.partition("?")[2].encode("utf-8")
    else:
        raw = await request.read()
    headers: dict[str, str] = {}
    try:
        acct = None
        if key in PRIVATE:
            acct = verify_rest(server.core.by_key, request.headers, raw, now)
            fault = server.faults.get("http_5xx", acct.name, now)
            if fault is not None:
                return _server_error(fault.options.get("status", "503"))
            if server.faults.get("auth_reject", acct.name, now) is not None:
                raise VenueError(BAD_KEY, "API key is invalid.")
            verdict = _limits(server, request.path, acct.name, acct.uid, now)
            headers = verdict.headers()
            if not verdict.allowed:
                raise VenueError(RATE_LIMIT, "Too many visits!")
        result = handler(Call(server, acct, _params(request.method, raw), now))
        server.publish()
        if acct is not None and request.path in ORDER_PATHS:
            delay = server.faults.get("ack_delay", acct.name, now)
            if delay is not None:
                await asyncio.sleep(int(delay.options.get("ms", "1000")) / 1000)
        body = envelope(0, "OK", result, now)
    except VenueError as e:
        body = envelope(e.code, e.message, {}, now)
    return web.Response(text=json.dumps(body), content_type="application/json",
                        headers=headers)
