"""The column loader and the streaming reader give exactly what the row reader gave.

The files are small but cross many parse chunks (``CHUNK_ROWS`` is lowered), hold bursts
of trades in one millisecond, sub-millisecond timestamps that must round as Python
rounds, blank lines and a row out of order, in both file orders, plain and gzipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemons.marketdata import trades_csv
from daemons.marketdata.trades_csv import (
    BUNDLED_TRADES,
    TradeFormatError,
    iter_trades_csv,
    load_trade_arrays,
)
from tests.daemons.marketdata.trade_files import bybit_lines, row_trades, write


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trades_csv, "CHUNK_ROWS", 64)
    monkeypatch.setattr(trades_csv, "YIELD_ROWS", 50)


@pytest.fixture(params=["oldest-first.csv", "newest-first.csv", "newest-first.csv.gz"])
def dump(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    lines = bybit_lines()
    if request.param.startswith("newest"):
        lines.reverse()
    return write(tmp_path / request.param, lines)


def reference_columns(path: Path) -> dict[str, np.ndarray]:
    trades = row_trades(path)
    return {"ts_ms": np.array([t.ts_ms for t in trades], np.int64),
            "price": np.array([t.price for t in trades]),
            "size": np.array([t.size for t in trades]),
            "is_buy": np.array([t.side == "Buy" for t in trades])}


def assert_same_columns(path: Path) -> None:
    expected = reference_columns(path)
    got = load_trade_arrays(path)
    assert set(got) == set(expected)
    for name, values in expected.items():
        assert got[name].dtype == values.dtype, name
        assert got[name].tobytes() == values.tobytes(), name
    assert len(got["ts_ms"]) > 1_000


def test_load_trade_arrays_equals_the_row_reader_bit_for_bit(dump: Path) -> None:
    assert_same_columns(dump)


def test_load_trade_arrays_equals_the_row_reader_on_the_bundled_binance_file() -> None:
    assert_same_columns(BUNDLED_TRADES)


def test_iter_trades_csv_yields_the_row_readers_trades(dump: Path) -> None:
    assert list(iter_trades_csv(dump)) == row_trades(dump)


def test_iter_trades_csv_refuses_a_bad_header_before_iterating(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(TradeFormatError, match="unknown trade CSV header"):
        iter_trades_csv(path)  # no next(): the check is not deferred to the first trade


def test_oldest_first_file_is_streamed_so_a_late_bad_row_surfaces_when_reached(
    tmp_path: Path,
) -> None:
    lines = bybit_lines(200)
    lines.append("oops,BTCUSDT,Buy,0.1,60000.0,PlusTick,bad,1,0.1,1\n")
    trades = iter_trades_csv(write(tmp_path / "oldest.csv", lines))
    assert next(trades).trade_id.endswith("-0")
    with pytest.raises(ValueError, match="oops"):
        list(trades)


def test_newest_first_file_with_a_bad_row_is_refused_up_front_naming_the_line(
    tmp_path: Path,
) -> None:
    lines = bybit_lines(200)[::-1]
    lines[150] = "1700000000.0,BTCUSDT,Buy,0.1,oops,PlusTick,bad,1,0.1,1\n"
    with pytest.raises(ValueError, match=r"newest\.csv, line 152: .*oops"):
        iter_trades_csv(write(tmp_path / "newest.csv", lines))


def test_header_only_file_gives_empty_columns_and_no_trades(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.csv", [])
    assert all(len(v) == 0 for v in load_trade_arrays(path).values())
    assert list(iter_trades_csv(path)) == []
