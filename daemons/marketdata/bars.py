"""One-minute bars: the bundled month of real BTC perpetual prices.

The demo, the backtester and the local venue's ``bars`` tape all read the same file
through :func:`load_bars`, so a clone anywhere finds it without configuration.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUNDLED_BARS = DATA_DIR / "ftx_btc_perp_1m_2022-01.csv.gz"


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
        return int(round(parsed.timestamp() * 1000))
    return int(value) if value > 1e11 else int(round(value * 1000))


def open_text(path: Path) -> io.TextIOBase:
    """Open a CSV for reading as text, gunzipping ``.gz`` files on the fly."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the caller


def iter_bars(path: Path | str | None = None) -> Iterator[Bar]:
    """Yield bars in file order (the bundled file is sorted by time)."""
    source = Path(path) if path is not None else BUNDLED_BARS
    with open_text(source) as handle:
        for row in csv.DictReader(handle):
            yield Bar(
                ts_ms=_parse_ts_ms(row["timestamp"]),
                open=float(row["open"]),
                high=float(row["high"]),
                low=float(row["low"]),
                close=float(row["close"]),
                volume=float(row["volume"]),
            )


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
