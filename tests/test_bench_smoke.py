"""The backtest benchmark still runs: its child paths on a short tape, checking the rows'
names and keys, never their numbers (timing is for ``make bench``, not for tests)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from benchmarks import bench_backtest
from daemons.marketdata.trades_csv import load_trade_arrays

pytestmark = pytest.mark.timeout(300)

REPLAY_ROWS = ["backtest_optimistic_events_per_s", "backtest_conservative_events_per_s",
               "backtest_pessimistic_events_per_s", "backtest_queue_events_per_s",
               "backtest_conservative_dense_events_per_s", "backtest_reference_events_per_s",
               "backtest_peak_rss_mb"]
CSV_ROWS = ["backtest_csv_load_trades_per_s", "backtest_csv_load_peak_rss_mb"]
GENERATOR_ROWS = ["backtest_generate_day_s"]


def test_backtest_bench_runs_its_children_and_names_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (("TRADES", 20_000), ("REFERENCE_EVENTS", 2_000), ("CSV_TRADES", 3_000)):
        monkeypatch.setattr(bench_backtest, name, value)
    rows = list(bench_backtest.run())
    assert [r["bench"] for r in rows] == REPLAY_ROWS + CSV_ROWS + GENERATOR_ROWS
    for row in rows:
        assert {"value", "unit"} <= set(row) and row["value"] > 0
    by_name = {r["bench"]: r for r in rows}
    dense, default = (by_name[f"backtest_conservative{s}_events_per_s"] for s in ("_dense", ""))
    assert dense["grid_step_pct"] == bench_backtest.DENSE_STEP_PCT < default["grid_step_pct"]
    assert default["trades"] == 20_000
    assert by_name["backtest_reference_events_per_s"]["events"] == 2_000
    for name in CSV_ROWS:
        assert by_name[name]["trades"] == 3_000 and by_name[name]["baseline"] > 0
    assert by_name["backtest_csv_load_trades_per_s"]["events"] > 3_000  # tickers added
    assert by_name["backtest_generate_day_s"]["trades"] == 20_000


def test_bybit_dump_is_newest_first_and_loads_every_trade(tmp_path: Path) -> None:
    path = tmp_path / "dump.csv.gz"
    bench_backtest.write_bybit_dump(path, 1_000)
    with gzip.open(path, "rt") as handle:
        rows = handle.read().splitlines()
    assert len(rows) == 1_001 and float(rows[1].split(",")[0]) > float(rows[-1].split(",")[0])
    columns = load_trade_arrays(path)
    assert len(columns["ts_ms"]) == 1_000
    assert (columns["ts_ms"][1:] >= columns["ts_ms"][:-1]).all()
