"""Request authentication exactly as Bybit v5 does it.

REST: HMAC-SHA256(secret, timestamp + api_key + recv_window + X) in lowercase hex, X the
raw query string (GET) or raw body (POST) as received: never re-serialised, because
any re-encoding would accept signatures Bybit refuses or refuse ones it accepts.
WebSocket: HMAC-SHA256(secret, "GET/realtime" + expires) with expires in the future.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from daemons.venue.accounts import Account
from daemons.venue.errors import BAD_KEY, BAD_SIGN, BAD_TIMESTAMP, VenueError

FUTURE_TOLERANCE_MS = 1000


def sign(secret: str, payload: bytes) -> str:
    """Lowercase hex HMAC-SHA256, the signature both REST and WebSocket use."""
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def verify_rest(
    by_key: Mapping[str, Account], headers: Mapping[str, str], raw: bytes, now_ms: int,
) -> Account:
    """Return the account that signed this request, or raise with Bybit's retCode."""
    key = headers.get("X-BAPI-API-KEY", "")
    acct = by_key.get(key)
    if acct is None:
        raise VenueError(BAD_KEY, "API key is invalid.")
    ts_text = headers.get("X-BAPI-TIMESTAMP", "")
    recv_text = headers.get("X-BAPI-RECV-WINDOW", "5000")
    try:
        ts, recv = int(ts_text), int(recv_text)
    except ValueError as e:
        raise VenueError(BAD_TIMESTAMP, "invalid request, please check your timestamp") from e
    if not now_ms - recv <= ts < now_ms + FUTURE_TOLERANCE_MS:
        raise VenueError(
            BAD_TIMESTAMP,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts}],server_timestamp[{now_ms}],recv_window[{recv}]",
        )
    prefix = f"{ts_text}{key}{recv_text}".encode()
    expected = sign(acct.spec.keys()[key], prefix + raw)
    if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "").lower()):
        origin = (prefix + raw).decode("utf-8", "replace")
        raise VenueError(BAD_SIGN, f"error sign! origin_string[{origin}]")
    return acct


def verify_ws(by_key: Mapping[str, Account], args: object, now_ms: int) -> Account | str:
    """Check ``{"op": "auth", "args": [key, expires, signature]}``; a string is the refusal."""
    if not isinstance(args, list) or len(args) != 3:
        return "Params Error"
    key, expires, signature = args
    acct = by_key.get(str(key))
    if acct is None:
        return "Request not authorized"
    try:
        expires_ms = int(expires)
    except (TypeError, ValueError):
        return "Params Error"
    if expires_ms <= now_ms:
        return "Request expired"
    expected = sign(acct.spec.keys()[str(key)], f"GET/realtime{expires_ms}".encode())
    if not hmac.compare_digest(expected, str(signature).lower()):
        return "Request not authorized"
    return acct
