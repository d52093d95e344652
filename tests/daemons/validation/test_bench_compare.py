"""The comparison benchmark still runs, on a short day: its row's name and keys (never
its numbers: timing is for ``make bench``)."""

from __future__ import annotations

from benchmarks import bench_compare


def test_bench_compare_small_day_yields_one_named_row() -> None:
    (row,) = bench_compare.run(trades=30_000, live_orders=300)
    assert row["bench"] == "compare_run_s" and row["unit"] == "s"
    assert row["value"] > 0 and row["baseline"] > 0 and row["models"] == 4
    assert row["live_orders"] == 300 and row["live_fills"] >= 300
    assert 0 < row["pairs"] <= 4 * 300
