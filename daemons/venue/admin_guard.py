"""Keep web pages away from ``/admin``: only requests addressed to the venue itself.

/admin has no authentication, so a web page the user visits could drive a loopback
venue: by a cross-site POST (the browser sends the page's ``Origin``) or by DNS rebinding
(the browser reaches 127.0.0.1 but sends the attacker's name as ``Host``). This middleware
answers such requests with 403 before any handler runs. It stops browsers, not a local
program that forges both headers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from daemons.venue.params import VENUE_KEY
from daemons.venue.state import VenueState

_AUTHORITY = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))"
                        r"(?::(?P<port>[0-9]{1,5}))?$")
_ORIGIN = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)$")


def _is_venue(server: VenueState, authority: str) -> bool:
    """Whether ``host[:port]`` names this venue: a loopback name or address (or the
    address given with ``--allow-remote``) and the venue's port (80 when none is given)."""
    match = _AUTHORITY.match(authority)
    if match is None:
        return False
    host = (match["v6"] or match["name"]).lower().rstrip(".")
    port = int(match["port"]) if match["port"] is not None else 80
    if port != server.port:
        return False
    if host == "localhost" or (host == server.config.host.lower() and _specific(host)):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _specific(host: str) -> bool:
    """Not 0.0.0.0 or ``::``: browsers send those names to this machine's own services."""
    try:
        return not ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return True


def _refusal(server: VenueState, request: web.Request) -> str | None:
    """Why a request is not from a client of this venue, or None if it is."""
    if not _is_venue(server, request.headers.get("Host", "")):
        return "Host must name the venue on loopback (e.g. 127.0.0.1:<port>)"
    origin = request.headers.get("Origin")
    if origin is not None:
        match = _ORIGIN.match(origin)
        if match is None or match["scheme"].lower() != "http" or not _is_venue(
                server, match["authority"]):
            return "cross-site request refused: Origin is not this venue"
    return None


@web.middleware
async def guard(request: web.Request,
                handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                ) -> web.StreamResponse:
    """Answer /admin requests from another site or host name with 403, before any effect."""
    if request.path == "/admin" or request.path.startswith("/admin/"):
        refusal = _refusal(request.app[VENUE_KEY], request)
        if refusal is not None:
            return web.json_response({"error": refusal}, status=403)
    return await handler(request)
