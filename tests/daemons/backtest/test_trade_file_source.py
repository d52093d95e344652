"""A trade file's tape is exactly the tape the object-per-row reader built."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemons.backtest.sources import tape_from_trade_file
from daemons.marketdata import trades_csv
from daemons.marketdata.trades_csv import BUNDLED_TRADES
from gridcore.sim.tape import MarketTape
from tests.daemons.marketdata.trade_files import bybit_lines, row_tape, write

COLUMNS = ("ts", "local_ts", "kind", "price", "size", "is_buy", "seq")


def assert_same_tape(got: MarketTape, expected: MarketTape) -> None:
    assert got.symbol == expected.symbol and len(got) == len(expected)
    assert got.trade_ids is None and expected.trade_ids is None
    for name in COLUMNS:
        a, b = getattr(got, name), getattr(expected, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name  # NaNs and -0.0 too


@pytest.mark.parametrize("name", ["oldest-first.csv", "newest-first.csv",
                                  "newest-first.csv.gz"])
def test_trade_file_tape_equals_the_row_readers_tape_in_both_file_orders(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trades_csv, "CHUNK_ROWS", 100)
    lines = bybit_lines(3_000)
    path = write(tmp_path / name, lines[::-1] if name.startswith("newest") else lines)
    tape = tape_from_trade_file("BTCUSDT", path)
    assert_same_tape(tape, row_tape("BTCUSDT", path))
    assert len(tape) > 3_000  # trades plus tickers


def test_bundled_trade_file_tape_equals_the_row_readers_tape() -> None:
    assert_same_tape(tape_from_trade_file("BTCUSDT", BUNDLED_TRADES),
                     row_tape("BTCUSDT", BUNDLED_TRADES))


def test_header_only_trade_file_is_refused_as_before(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no trades"):
        tape_from_trade_file("BTCUSDT", write(tmp_path / "empty.csv", []))
