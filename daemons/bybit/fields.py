"""Field readers of the normaliser: one Bybit value in, a storable Python value out.

Each reader returns a value that PostgreSQL can store in the column it is meant for, or
raises :class:`ParseError` naming the field. The rules, shared by every message kind of
:mod:`daemons.bybit.parsing`:

* Numbers arrive as plain decimal strings of ASCII digits and stay ``Decimal``; a JSON
  float where Bybit sends a string is refused (money never passes through binary
  floating point), and so are NaN, exponents, Unicode digits, more than
  :data:`MAX_NUMBER_CHARS` characters and values wider than the column (``limit``).
* Integers (sequence numbers, indexes) fit a signed 64-bit column.
* Times are integer milliseconds (Bybit sends some as strings, some as numbers) inside a
  plausible window: from 2015-01-01 to one day after the receipt time ``local_ts``, which
  the caller reads at the edge. A time in seconds, micro- or nanoseconds falls outside it.
* Text is at most :data:`MAX_TEXT_CHARS` characters, without NUL or lone surrogates
  (PostgreSQL stores neither). :func:`storable` checks a whole item the same way, and
  for non-finite floats, since ``jsonb`` refuses them.
* JSON nested deeper than :data:`MAX_DEPTH` is refused whole (:func:`decode`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridcore.events import BUY, SELL

#: 2015-01-01T00:00:00Z: nothing older is a Bybit v5 time.
MIN_TIME_MS = 1_420_070_400_000
#: How far after the receipt time an exchange time may lie (clock skew, next funding).
MAX_AHEAD_MS = 86_400_000
#: Bybit's messages nest five levels deep; far deeper is not a Bybit message.
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
MAX_TEXT_CHARS = 256
_MAX_INT_DIGITS = 18  # every 18-digit integer fits a signed 64-bit column
_INT64 = 2 ** 63

# Column widths (sql/0002_events.sql): numeric(20, 8) holds 12 integer digits, (28, 8)
# 20, (20, 10) 10 and (10, 4) 6. A value PostgreSQL would round up past them is refused.
PRICE = Decimal(10) ** 12 - 1
AMOUNT = Decimal(10) ** 20 - 1
RATE = Decimal(10) ** 10 - 1
LEVERAGE = Decimal(10) ** 6 - 1


class ParseError(ValueError):
    """A message or row that is not a valid event; ``field`` names what is wrong.

    Messages never quote the value: the caller stores the item beside the error, and
    logs only the error.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class OversizedNumber(str):
    """A JSON integer literal too long for ``int()``; no reader accepts it."""


# -- decoding -----------------------------------------------------------------------------

def decode(text: str | bytes) -> dict[str, Any]:
    """Decode one WebSocket frame or REST body; anything but a JSON object is refused.

    Truncated JSON, JSON nested deeper than :data:`MAX_DEPTH` (the decoder would raise
    ``RecursionError``) and non-objects are a :class:`ParseError` for the whole frame. An
    integer too long for ``int()`` is not: it becomes an :class:`OversizedNumber` that
    costs only the item holding it.
    """
    try:
        value = _loads(text)
    except RecursionError:
        raise ParseError("json", f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError("json", f"not JSON ({type(e).__name__})") from None
    if not isinstance(value, dict):
        raise ParseError("json", f"expected an object, got {type(value).__name__}")
    check_depth(value, "json")
    return value


def _loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer literal past int()'s digit limit: keep the rest
        return json.loads(text, parse_int=_parse_int)


def _parse_int(digits: str) -> int | OversizedNumber:
    return OversizedNumber(digits) if len(digits) > MAX_NUMBER_CHARS else int(digits)


def check_depth(value: Any, where: str) -> None:
    """Refuse JSON containers nested deeper than :data:`MAX_DEPTH` (checked without
    recursion, level by level: every frame passes here, so only containers are visited)."""
    level, depth = [value], 1
    while level:
        if depth > MAX_DEPTH:
            raise ParseError(where, f"nested deeper than {MAX_DEPTH} levels")
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, (dict, list))]
        depth += 1


def storable(item: Mapping[str, Any], where: str) -> None:
    """Refuse an item PostgreSQL's ``jsonb`` cannot hold (kept verbatim as ``raw_json``)."""
    check_depth(item, where)
    stack: list[Any] = [item]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if not all(isinstance(k, str) and clean_text(k) for k in node):
                raise ParseError(where, "a key is not storable text")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, OversizedNumber):
            raise ParseError(where, "holds a number too long to store")
        elif isinstance(node, str) and not clean_text(node):
            raise ParseError(where, "holds text with NUL or a lone surrogate")
        elif isinstance(node, float) and not math.isfinite(node):
            raise ParseError(where, "holds NaN or Infinity")


def clean_text(text: str) -> bool:
    """Text PostgreSQL can store: no NUL, valid UTF-8 (no lone surrogate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- field readers ------------------------------------------------------------------------

def obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, (dict, Mapping)):  # dict first: the common case, and fast
        raise ParseError(where, f"expected an object, got {type(value).__name__}")
    return value


def need(d: Mapping[str, Any], key: str, where: str) -> Any:
    value = d.get(key)
    if value is None:
        raise ParseError(f"{where}.{key}", "missing")
    return value


def _number(value: Any, field: str, limit: Decimal) -> Decimal:
    """A decimal string of ASCII digits (or a JSON integer), at most ``limit`` in size."""
    if isinstance(value, OversizedNumber):
        raise ParseError(field, "a number too long to read")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ParseError(field, f"expected a decimal string, got {type(value).__name__}")
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            raise ParseError(field, f"longer than {MAX_NUMBER_CHARS} characters")
        if not _is_plain_decimal(value):
            raise ParseError(field, "malformed number")
    elif value.bit_length() > 128:
        raise ParseError(field, "out of range")
    number = Decimal(value)
    if abs(number) > limit:
        raise ParseError(field, "out of range")
    return number


def _is_plain_decimal(text: str) -> bool:
    """``-?digits(.digits)?`` in ASCII, as Bybit writes numbers (no exponent, no NaN)."""
    body = text[1:] if text.startswith("-") else text
    whole, dot, fraction = body.partition(".")
    return _ascii_digits(whole) and (not dot or _ascii_digits(fraction))


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def dec(d: Mapping[str, Any], key: str, where: str, *, positive: bool = False,
        non_negative: bool = False, limit: Decimal = PRICE) -> Decimal:
    """A required decimal field; ``positive`` refuses zero and below, ``non_negative`` < 0."""
    number = _number(need(d, key, where), f"{where}.{key}", limit)
    if positive and number <= 0:
        raise ParseError(f"{where}.{key}", "must be greater than zero")
    if non_negative and number < 0:
        raise ParseError(f"{where}.{key}", "must not be negative")
    return number


def opt_dec(d: Mapping[str, Any], key: str, where: str, *, non_negative: bool = False,
            default: Decimal | None = None, limit: Decimal = PRICE) -> Decimal | None:
    """An optional decimal field: missing, null or "" give ``default``."""
    value = d.get(key)
    if value is None or value == "":
        return default
    number = _number(value, f"{where}.{key}", limit)
    if non_negative and number < 0:
        raise ParseError(f"{where}.{key}", "must not be negative")
    return number


def integer(value: Any, field: str) -> int:
    if isinstance(value, OversizedNumber):
        raise ParseError(field, "a number too long to read")
    if isinstance(value, bool):
        raise ParseError(field, "expected an integer, got bool")
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ParseError(field, "out of range")
        return value
    if isinstance(value, str):
        if len(value) > _MAX_INT_DIGITS:
            raise ParseError(field, "out of range")
        if _ascii_digits(value):
            return int(value)
    raise ParseError(field, f"expected an integer, got {type(value).__name__}")


def req_int(d: Mapping[str, Any], key: str, where: str) -> int:
    return integer(need(d, key, where), f"{where}.{key}")


def opt_int(d: Mapping[str, Any], key: str, where: str, default: int = 0) -> int:
    value = d.get(key)
    if value is None or value == "":
        return default
    return integer(value, f"{where}.{key}")


def _time(value: Any, field: str, local_ts: int) -> int:
    ms = integer(value, field)
    if not MIN_TIME_MS <= ms <= local_ts + MAX_AHEAD_MS:
        raise ParseError(field, "not a time in milliseconds between 2015 and tomorrow")
    return ms


def req_time(d: Mapping[str, Any], key: str, where: str, local_ts: int) -> int:
    """A required time in milliseconds (see the module docstring for the window)."""
    return _time(need(d, key, where), f"{where}.{key}", local_ts)


def opt_time(d: Mapping[str, Any], key: str, where: str, local_ts: int) -> int | None:
    """An optional time: missing, null, "" and 0 (Bybit's "never") give None."""
    value = obj(d, where).get(key)
    if value is None or value == "" or value == "0" or (type(value) is int and value == 0):
        return None
    return _time(value, f"{where}.{key}", local_ts)


def req_str(d: Mapping[str, Any], key: str, where: str, *, allow_empty: bool = False) -> str:
    value = as_text(need(d, key, where), f"{where}.{key}")
    if not value and not allow_empty:
        raise ParseError(f"{where}.{key}", "empty")
    return value


def opt_str(d: Mapping[str, Any], key: str, where: str) -> str:
    value = d.get(key)
    return "" if value is None else as_text(value, f"{where}.{key}")


def as_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or isinstance(value, OversizedNumber):  # a JSON number
        raise ParseError(field, f"expected a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise ParseError(field, f"longer than {MAX_TEXT_CHARS} characters")
    if not clean_text(value):
        raise ParseError(field, "NUL or a lone surrogate")
    return value


def flag(d: Mapping[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = d.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ParseError(f"{where}.{key}", f"expected true or false, got {type(value).__name__}")
    return value


def buy_sell(d: Mapping[str, Any], key: str, where: str) -> str:
    value = need(d, key, where)
    if value not in (BUY, SELL):
        raise ParseError(f"{where}.{key}", "expected Buy or Sell")
    return value
