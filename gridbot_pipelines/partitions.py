"""How the pipeline's assets are cut: by UTC day, by live run, by day and strategy.

* :data:`DAILY`: one partition per UTC day, from the first month gridbot has data for (the
  bundled January 2022). Today's partition exists already (``end_offset=1``), so an analyst
  can look at the day so far; the nightly schedule takes the day that just ended.
* :data:`LIVE_RUNS`: one partition per live or shadow run, added by
  ``live_run_sensor`` as runs appear (the comparison per run hangs off it).
* :data:`STRATEGIES`: one partition per stored strategy (its id), added by
  ``strategy_sensor``; with the day it makes :data:`DAY_STRATEGY`, the backtests' grid.
  The fill model is configuration (a list in the launchpad), not a third dimension:
  Dagster's multi-partitions have two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

FIRST_DAY = "2022-01-01"

DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)
LIVE_RUNS = dg.DynamicPartitionsDefinition(name="live_runs")
STRATEGIES = dg.DynamicPartitionsDefinition(name="strategies")
DAY_STRATEGY = dg.MultiPartitionsDefinition({"day": DAILY, "strategy": STRATEGIES})


def day_window_ms(day: str) -> tuple[int, int]:
    """The UTC day ``YYYY-MM-DD`` as [start, end) epoch milliseconds."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def day_strategy(key: dg.MultiPartitionKey) -> tuple[str, int]:
    """A :data:`DAY_STRATEGY` key as (day, strategy id)."""
    return key.keys_by_dimension["day"], int(key.keys_by_dimension["strategy"])
