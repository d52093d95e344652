"""The venue benchmark still runs: a small version of it, checking its rows, not its numbers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks import bench_venue

pytestmark = pytest.mark.timeout(120)


def test_bench_runs_both_scenarios_with_clients_in_several_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (("PROCESSES", 2), ("WARMUP_S", 0.5), ("MEASURE_S", 1.0)):
        monkeypatch.setattr(bench_venue, name, value)
    monkeypatch.setattr(bench_venue, "SCENARIOS", tuple(
        replace(s, clients=3) for s in bench_venue.SCENARIOS))
    rows = list(bench_venue.run())
    assert [r["bench"] for r in rows] == [
        "venue_broadcast_trades_per_s", "venue_broadcast_p50_ms", "venue_broadcast_p99_ms",
        "venue_four_symbols_trades_per_s", "venue_four_symbols_p50_ms",
        "venue_four_symbols_p99_ms", "venue_four_symbols_tickers_per_s"]
    for row in rows:
        assert {"value", "unit", "target", "met"} <= set(row)
        assert row["clients"] == 3 and row["client_processes"] == 2
    one, four = rows[0], rows[3]
    assert one["symbols"] == 1 and four["symbols"] == 4
    for row in (one, four):
        assert row["trades_per_client"] > 0 and row["deliveries"] >= 3
    assert rows[2]["target"] == 50 and rows[2]["value"] is not None
    assert rows[6]["value"] > 0  # every client got ticker pushes of the four symbols


def test_clients_are_spread_evenly_over_processes() -> None:
    assert bench_venue._spread(20, 4) == [5, 5, 5, 5]
    assert bench_venue._spread(20, 3) == [7, 7, 6]
    assert bench_venue._spread(2, 4) == [1, 1]
