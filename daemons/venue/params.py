"""Request parameters: the per-request context, integer options and cursor paging.

Cursors look like Bybit's (``"<seq>%3A<seq>"``) and are anchored on a sequence number,
not an offset, so a page boundary stays put while new orders or fills arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import web

from daemons.venue.accounts import Account
from daemons.venue.errors import bad_param
from daemons.venue.state import VenueState

T = TypeVar("T")
VENUE_KEY: web.AppKey[VenueState] = web.AppKey("venue", VenueState)


@dataclass
class Call:
    """One REST request as a handler sees it (``acct`` is None on public endpoints)."""

    server: VenueState
    acct: Account | None
    params: dict[str, Any]
    now_ms: int

    @property
    def account(self) -> Account:
        assert self.acct is not None, "private handler called without an account"
        return self.acct


def int_param(params: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An integer option within ``[low, high]`` (Bybit's limit ranges), else 10001."""
    raw = params.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as e:
        raise bad_param(f"params error: {key} invalid") from e
    if not low <= value <= high:
        raise bad_param(f"params error: {key} must be in [{low}, {high}]")
    return value


def optional_int(params: dict[str, Any], key: str) -> int | None:
    raw = params.get(key)
    if raw in (None, ""):
        return None
    return int_param(params, key, 0, 0, 2**63 - 1)


def _cursor_anchor(cursor: str) -> int:
    text = cursor
    for _ in range(3):
        text = unquote(text)
    try:
        return int(text.split(":")[0])
    except ValueError as e:
        raise bad_param("params error: cursor invalid") from e


def page(
    items: Sequence[T], seq: Callable[[T], int], params: dict[str, Any],
    default: int, high: int,
) -> tuple[list[T], str]:
    """One page of ``items`` (newest first) and the cursor of the next ("" at the end)."""
    limit = int_param(params, "limit", default, 1, high)
    cursor = params.get("cursor")
    rest = list(items)
    if cursor:
        anchor = _cursor_anchor(str(cursor))
        rest = [i for i in rest if seq(i) < anchor]
    chosen = rest[:limit]
    if len(rest) <= limit:
        return chosen, ""
    last = seq(chosen[-1])
    return chosen, f"{last}%3A{last}"
