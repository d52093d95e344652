"""The REST front door: faults, IP limit, signature, rate limit, envelope.

Every response uses Bybit's envelope with HTTP 200, errors included (pybit maps a
non-zero retCode to ``InvalidRequestError``); only the IP limit (403), fault-injected
5xx and unknown paths (404) use other HTTP statuses, as Bybit does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from daemons.venue import rest_account, rest_market, rest_trade, strict_json
from daemons.venue.auth import verify_rest
from daemons.venue.clock import wall_ms
from daemons.venue.errors import BAD_KEY, RATE_LIMIT, SERVER_ERROR, VenueError, bad_param
from daemons.venue.params import VENUE_KEY, Call
from daemons.venue.ratelimit import ORDER_PATHS, Verdict
from daemons.venue.state import VenueState

Handler = Callable[[Call], dict]
PUBLIC: dict[tuple[str, str], Handler] = dict(rest_market.ROUTES)
PRIVATE: dict[tuple[str, str], Handler] = {**rest_trade.ROUTES, **rest_account.ROUTES}
SCALARS = (str, int, float, bool, type(None))
log = logging.getLogger(__name__)


def envelope(code: int, message: str, result: dict, now_ms: int) -> dict[str, Any]:
    return {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {},
            "time": now_ms}


def _params(method: str, raw: bytes) -> dict[str, Any]:
    if method == "GET":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        body = strict_json.loads(raw or b"{}")
    except ValueError as e:  # also NaN, 1e400 and deep nesting: 10001, never 10016
        raise bad_param(f"params error: body is not valid JSON ({e})") from e
    if not isinstance(body, dict):
        raise bad_param("params error: body must be a JSON object")
    for key, value in body.items():
        if not isinstance(value, SCALARS):  # no endpoint here takes a list or an object
            raise bad_param(f"params error: {key} invalid")
    return body


def _server_error(status: str) -> web.Response:
    code = int(status) if status.isdigit() and 500 <= int(status) <= 599 else 503
    return web.Response(status=code, text=f"{code} venue fault injected")


def _limits(server: VenueState, call_path: str, name: str, uid: int, now: int) -> Verdict:
    if server.faults.get("rate_limit", name, now) is not None:
        return Verdict(False, server.limiter.limit_for(call_path), 0, now + 1000)
    return server.limiter.hit(uid, call_path, now)


async def _raw(request: web.Request) -> bytes:
    """The signed bytes: the query string exactly as sent (GET) or the body (POST)."""
    if request.method == "GET":
        return request.raw_path.partition("?")[2].encode("utf-8")
    return await request.read()


async def _answer(
    server: VenueState, request: web.Request, handler: Handler, raw: bytes, now: int,
    headers: dict[str, str],
) -> dict[str, Any] | web.Response:
    """Authenticate, limit and run one request; ``headers`` gets the account's limits."""
    acct = None
    if (request.method, request.path) in PRIVATE:
        acct = verify_rest(server.core.by_key, request.headers, raw, now)
        fault = server.faults.get("http_5xx", acct.name, now)
        if fault is not None:
            return _server_error(fault.options.get("status", "503"))
        if server.faults.get("auth_reject", acct.name, now) is not None:
            raise VenueError(BAD_KEY, "API key is invalid.")
        verdict = _limits(server, request.path, acct.name, acct.uid, now)
        headers.update(verdict.headers())
        if not verdict.allowed:
            raise VenueError(RATE_LIMIT, "Too many visits!")
    result = handler(Call(server, acct, _params(request.method, raw), now))
    server.publish()
    if acct is not None and request.path in ORDER_PATHS:
        delay = server.faults.get("ack_delay", acct.name, now)
        if delay is not None:
            await asyncio.sleep(int(delay.options.get("ms", "1000")) / 1000)
    return envelope(0, "OK", result, now)


async def handle(request: web.Request) -> web.Response:
    """Answer one ``/v5/...`` request.

    Every enveloped answer carries ``X-Bapi-Limit*`` headers (Bybit's v5 rate-limit
    documentation, "Headers on every response"): the account's endpoint limit once the
    request is authenticated, else the address limit that counted it (public endpoints,
    refused credentials).
    """
    server: VenueState = request.app[VENUE_KEY]
    handler = PUBLIC.get((request.method, request.path)) or PRIVATE.get(
        (request.method, request.path))
    if handler is None:
        return web.Response(status=404, text="404 page not found")
    now = wall_ms()
    ip_verdict = server.ip_limiter.hit(request.remote or "", now)
    headers = ip_verdict.headers()
    if not ip_verdict.allowed:
        return web.Response(status=403, text="403 Forbidden", headers=headers)
    fault = server.faults.get("http_5xx", None, now)
    if fault is not None:
        return _server_error(fault.options.get("status", "503"))
    try:
        answer = await _answer(server, request, handler, await _raw(request), now, headers)
    except VenueError as e:
        answer = envelope(e.code, e.message, {}, now)
    except Exception:  # a bug must still answer in the envelope, as Bybit's 10016 does
        log.exception("venue: %s %s failed", request.method, request.path)
        answer = envelope(SERVER_ERROR, "Internal System Error.", {}, now)
    if isinstance(answer, web.Response):
        return answer
    return web.Response(text=json.dumps(answer), content_type="application/json",
                        headers=headers)
