"""One-minute bars: the bundled month of real BTC perpetual prices.

The demo, the backtester and the local venue's ``bars`` tape all read the same file
through :func:`load_bars`, so a clone anywhere finds it without configuration.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from daemons.marketdata.rows import BadRowError, MarketDataError, checked, reading

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUNDLED_BARS = DATA_DIR / "ftx_btc_perp_1m_2022-01.csv.gz"
BAR_COLUMNS = frozenset({"timestamp", "open", "high", "low", "close", "volume"})


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``ts_ms`` is the bar's open time in UTC milliseconds.

    ``volume`` is in the quote currency (USD) as the bundled file records it.
    """

    ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def _parse_ts_ms(text: str) -> int:
    """Accept ``2021-12-31 23:01:00.000000`` (the bundled form) or epoch seconds/ms."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(round(checked("time", parsed.timestamp() * 1000)))
    if value > 1e11:
        return int(checked("time", value))
    return int(round(checked("time", value * 1000)))


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """Open a CSV for reading as text, gunzipping ``.gz`` files on the fly.

    A binary file or a broken gzip raises :class:`MarketDataError` when read, whatever
    reads it inside the ``with`` block.
    """
    with reading(path):
        if path.suffix == ".gz":
            handle = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
        else:
            handle = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        with handle:
            yield handle


def _bar(row: dict[str, str]) -> Bar:
    """One row as a Bar: prices finite and > 0, volume finite and >= 0, low <= open and
    close <= high (a bar outside its own range has no path through it)."""
    prices = [checked("price", float(row[name])) for name in ("open", "high", "low", "close")]
    bar = Bar(_parse_ts_ms(row["timestamp"]), *prices, checked("volume", float(row["volume"])))
    if not bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high:
        raise ValueError(f"low {bar.low!r} <= open, close <= high {bar.high!r} does not hold")
    return bar


def iter_bars(path: Path | str | None = None) -> Iterator[Bar]:
    """Yield bars in file order (the bundled file is sorted by time).

    The header must name every bar column; a row that cannot be replayed (see
    :mod:`daemons.marketdata.rows`) raises :class:`BadRowError` naming its line.
    """
    source = Path(path) if path is not None else BUNDLED_BARS
    with open_text(source) as handle:
        reader = csv.DictReader(handle)
        missing = BAR_COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise MarketDataError(f"{source.name}: not a bars CSV, no column "
                                  f"{', '.join(sorted(missing))} in its header")
        for row in reader:
            try:
                bar = _bar(row)
            except (ValueError, TypeError) as e:  # float(None): a short row
                raise BadRowError(source, reader.line_num, str(e)) from None
            yield bar


def load_bars(path: Path | str | None = None) -> list[Bar]:
    """Read every bar of ``path`` (default: the bundled FTX month) into a list.

    Raises
    ------
    FileNotFoundError
        If the file does not exist (a clone without ``data/``).
    """
    source = Path(path) if path is not None else BUNDLED_BARS
    if not source.exists():
        raise FileNotFoundError(f"bars file not found: {source}")
    return list(iter_bars(source))
