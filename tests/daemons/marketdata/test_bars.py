"""The bundled bars load from any working directory and keep their real values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemons.marketdata.bars import Bar, load_bars


def test_load_bars_default_bundled_file_reads_whole_month(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        bars = load_bars()
    finally:
        os.chdir(cwd)
    assert len(bars) == 45_031
    first = bars[0]
    assert first == Bar(1640991660000, 46319.0, 46385.0, 46319.0, 46377.0, 2300413.7295)
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    assert all(a.ts_ms < b.ts_ms for a, b in zip(bars, bars[1:], strict=False))


def test_load_bars_epoch_seconds_file_parses_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n1700000000,1,2,0.5,1.5,10\n")
    assert load_bars(path) == [Bar(1_700_000_000_000, 1.0, 2.0, 0.5, 1.5, 10.0)]


def test_load_bars_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="bars file not found"):
        load_bars(tmp_path / "nope.csv")
