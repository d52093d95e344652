"""JSON from clients, parsed so that hostile input is one ValueError, never a crash.

Python's ``json`` accepts ``NaN`` and ``Infinity``, reads ``1e400`` as infinity and
recurses once per nesting level, so ``positionIdx: 1e400`` became an OverflowError (a
10016 answer) and ``[[[[...]]]]`` a RecursionError that dropped a WebSocket with a
traceback. Every text the venue parses for a client (REST bodies, WebSocket messages,
admin trade lists) goes through :func:`loads`, which refuses all of these as ValueError.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Deeper than any Bybit request (an object holding a list of scalars is depth 2).
MAX_DEPTH = 16


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: str | bytes) -> Any:
    """Parse ``raw``; ValueError for bad JSON, non-finite numbers or deep nesting."""
    try:
        value = json.loads(raw, parse_float=_finite, parse_constant=_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    """Walk without recursion: code that later prints or walks the value recurses."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
