"""A trade file's tape is exactly the tape the object-per-row reader built, and trades
placed straight into replay order give the tape that sorting them gave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemons.backtest.sources import (
    FUNDING_INTERVAL_MS,
    tape_from_trade_file,
    tape_from_trades,
)
from daemons.marketdata import trades_csv
from daemons.marketdata.trades_csv import BUNDLED_TRADES
from gridcore.sim.tape import MarketTape
from tests.daemons.marketdata.trade_files import (
    bybit_lines,
    concatenated_tape,
    row_tape,
    write,
)

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


def test_trades_placed_in_replay_order_give_the_sorted_tape_with_ties_at_boundaries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Trades exactly on ticker and funding boundaries (ties broken by kind), bursts in
    one millisecond, two funding rows; and the rows arrive already in replay order, so
    ``from_rows`` has nothing to reorder."""
    rng = np.random.default_rng(3)
    start = 5 * FUNDING_INTERVAL_MS - 250
    ts = np.sort(np.concatenate([
        start + rng.integers(0, 17 * 3_600_000, 3_000),
        [5 * FUNDING_INTERVAL_MS] * 3, [6 * FUNDING_INTERVAL_MS, start + 300, start + 300],
    ])).astype(np.int64)
    price = np.round(60_000 + rng.normal(0, 50, len(ts)), 1)
    size, is_buy = rng.random(len(ts)), rng.random(len(ts)) < 0.5
    tape = tape_from_trades("BTCUSDT", ts, price, size, is_buy)
    assert_same_tape(tape, concatenated_tape("BTCUSDT", ts, price, size, is_buy))
    assert (tape.kind == 0).sum() == 2

    reordered = []
    original = MarketTape.from_rows

    def from_rows(symbol: str, **columns: np.ndarray) -> MarketTape:
        keys = (columns["seq"], columns["kind"], columns["ts"], columns["ts"])
        reordered.append(not np.array_equal(np.lexsort(keys), np.arange(len(columns["ts"]))))
        return original(symbol, **columns)

    monkeypatch.setattr(MarketTape, "from_rows", from_rows)
    tape_from_trades("BTCUSDT", ts, price, size, is_buy)
    assert reordered == [False]
