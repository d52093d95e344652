"""What a row of a market-data file may hold, and errors naming the file and line.

A trade at a price of -50,000, a NaN last price or a zero-size print is not market data:
replayed, it fills orders no exchange would fill. Every reader (trade CSVs in both
formats, row by row or as numpy columns, and bar CSVs) refuses such a file at the first
bad row, naming its line, instead of skipping rows and replaying what is left.

The bounds are written once (:data:`_BOUNDS`) and :func:`in_bounds` works unchanged on
a Python float and on a numpy column, so the row readers and the column reader cannot
drift apart.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: 3000-01-01 UTC: a later time is a unit mistake (ns or µs read as ms), not a trade.
MAX_TS_MS = 32_503_680_000_000

#: field -> (low, high, low allowed): values must be finite and within.
_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "price": (0.0, math.inf, False),
    "size": (0.0, math.inf, False),
    "volume": (0.0, math.inf, True),
    "time": (0.0, MAX_TS_MS, True),
}


class MarketDataError(ValueError):
    """A market-data file that cannot be read as CSV text (binary, bad gzip, no header)."""


class BadRowError(MarketDataError):
    """A data row that cannot be replayed; the message names the file and line."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path.name}, line {line}: {reason}")
        self.line = line


def in_bounds(field: str, values: Any) -> Any:
    """Whether ``values`` (a float or a numpy column) are finite and in ``field``'s bounds.

    Comparisons only, so NaN (every comparison false) and infinities are out on both paths.
    """
    low, high, low_allowed = _BOUNDS[field]
    above = values >= low if low_allowed else values > low
    return above & (values <= high) & (values < math.inf)


def checked(field: str, value: float) -> float:
    """``value`` if it is in bounds, else ValueError saying what the field must be."""
    if not in_bounds(field, value):
        low, high, low_allowed = _BOUNDS[field]
        rule = f"{'>=' if low_allowed else '>'} {low:g}"
        if high < math.inf:
            rule += f" and <= {high}"
        unit = " (epoch ms, at most 3000-01-01)" if field == "time" else ""
        raise ValueError(f"{field}{unit} must be a finite number {rule}, got {value!r}")
    return value


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn what a binary or broken gzip file raises while read into one MarketDataError.

    Anything else raised inside (a bad row, a bug) passes through unchanged.
    """
    try:
        yield
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise MarketDataError(
            f"{path.name}: not a UTF-8 CSV text file (or a .gz of one): {e}") from None
