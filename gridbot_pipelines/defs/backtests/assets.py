"""The bundled month replayed through gridcore: the demo's numbers as a Dagster asset.

Analysts materialise it with other grid parameters from the launchpad; every
materialisation records its summary as metadata, so runs can be compared in the UI.
(No ``from __future__ import annotations`` here: Dagster resolves the config class from
the live annotation.)
"""


import dagster as dg

from daemons.backtest.bundled import DEMO_CONFIG, run_bundled_replay
from gridbot_pipelines.constants import BACKTESTS
from gridcore.version import GRIDCORE_VERSION


class BundledReplayConfig(dg.Config):
    """Grid parameters for the replay (defaults: the legacy BTC live example)."""

    amount: str = DEMO_CONFIG.amount
    grid_count: int = DEMO_CONFIG.grid_count
    grid_step_pct: float = DEMO_CONFIG.grid_step_pct
    max_bars: int | None = None


@dg.asset(group_name=BACKTESTS, kinds={"python"})
def bundled_month_replay(
    context: dg.AssetExecutionContext, config: BundledReplayConfig
) -> dg.MaterializeResult:
    """A month of real one-minute BTC perpetual bars through gridcore, OPTIMISTIC fills."""
    grid_config = DEMO_CONFIG.with_values(
        {"amount": config.amount, "grid_count": config.grid_count,
         "grid_step_pct": config.grid_step_pct}
    )
    run = run_bundled_replay(
        grid_config, max_bars=config.max_bars,
        progress=lambda done: context.log.debug(f"{done:,} events replayed"),
    )
    summary = run.summary()
    context.log.info(f"replayed {summary['events']:,} events, {summary['fills']:,} fills")
    metadata: dict[str, object] = {
        key: (float(value) if key in _MONEY else value)
        for key, value in summary.items() if value is not None
    }
    metadata["gridcore_version"] = GRIDCORE_VERSION
    metadata["config"] = dg.MetadataValue.json(grid_config.to_mapping())
    metadata["equity_curve_points"] = len(run.result.equity_curve)
    return dg.MaterializeResult(metadata=metadata)


_MONEY = {"realised_pnl", "fees", "funding", "unrealised_pnl", "final_balance", "final_equity",
          "long_size", "long_entry", "short_size", "short_entry", "last_price"}
