"""The Dagster code location: only assembles what the domain folders define."""

from __future__ import annotations

import dagster as dg

from gridbot_pipelines.defs.backtests import assets as backtest_assets

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([backtest_assets]),
)
