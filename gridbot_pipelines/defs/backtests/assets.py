"""Backtest assets: replays of market data through gridcore.

* ``bundled_month_replay``: the demo's month of real bars, parameters in the launchpad.
* ``strategy_backtests``: one stored strategy over one captured day (day x strategy
  partitions), each fill model the analyst lists; launched on demand from the launchpad.
* ``daily_backtests``: the nightly replays, every strategy of every symbol captured that
  day, one step per symbol (each reads its day once), so an executor with several
  workers (multiprocess, Celery, Kubernetes) replays symbols side by side.

(No ``from __future__ import annotations`` here: Dagster resolves config classes from
the live annotations.)
"""

import dagster as dg

from daemons.backtest.bundled import DEMO_CONFIG, run_bundled_replay
from gridbot_pipelines.constants import BACKTESTS, NIGHTLY
from gridbot_pipelines.defs.backtests import replays
from gridbot_pipelines.partitions import DAILY, DAY_STRATEGY, day_strategy, day_window_ms
from gridbot_pipelines.resources import DatabaseResource
from gridcore.version import GRIDCORE_VERSION

_DAY = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="day")


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


@dg.asset(group_name=BACKTESTS, partitions_def=DAY_STRATEGY, kinds={"python", "postgres"},
          deps=[dg.AssetDep("captured_market_data", partition_mapping=_DAY)])
def strategy_backtests(context: dg.AssetExecutionContext, config: replays.ReplayConfig,
                       database: DatabaseResource) -> dg.MaterializeResult:
    """One stored strategy replayed over one captured day, per listed fill model."""
    day, strategy_id = day_strategy(context.partition_key)
    rows = []
    for model in config.fill_models:
        outcome, run_id = replays.replay(database.db,
                                         replays.request(strategy_id, day, model, config))
        rows.append(replays.summary_row(strategy_id, outcome, run_id))
        context.log.info(f"strategy {strategy_id} {day} {model}: {rows[-1]['fills']} fills")
    return dg.MaterializeResult(metadata=_replay_metadata(rows))


@dg.op(ins={"market": dg.In(dg.Nothing), "accounts": dg.In(dg.Nothing)},
       out=dg.DynamicOut(str))
def symbols_of_day(context: dg.OpExecutionContext, database: DatabaseResource):  # noqa: ANN201
    """Each symbol that has enabled strategies and captured trades on the day."""
    start, end = day_window_ms(context.partition_key)
    with database.db.admin() as conn:  # every user's strategies: the nightly serves all
        symbols = [row[0] for row in conn.execute(
            "SELECT DISTINCT s.symbol FROM strategies s WHERE s.is_enabled AND EXISTS ("
            " SELECT 1 FROM public_trades t WHERE t.symbol = s.symbol"
            " AND t.exchange_ts >= to_timestamp(%s / 1000.0)"
            " AND t.exchange_ts < to_timestamp(%s / 1000.0)) ORDER BY 1", [start, end])]
    for symbol in symbols:
        yield dg.DynamicOutput(symbol, mapping_key=symbol)


@dg.op
def replay_symbol(context: dg.OpExecutionContext, config: replays.ReplayConfig,
                  database: DatabaseResource, symbol: str) -> list:
    """Every enabled strategy of ``symbol`` over the day, per fill model, on one read."""
    day = context.partition_key
    db = database.db
    with db.admin() as conn:
        strategy_ids = [row[0] for row in conn.execute(
            "SELECT strategy_id FROM strategies WHERE is_enabled AND symbol = %s"
            " ORDER BY strategy_id", [symbol])]
    tapes = replays.day_tapes(db, symbol, day)
    rows = []
    for strategy_id in strategy_ids:
        for model in config.fill_models:
            outcome, run_id = replays.replay(
                db, replays.request(strategy_id, day, model, config), tapes)
            rows.append(replays.summary_row(strategy_id, outcome, run_id))
    context.log.info(f"{symbol} {day}: {len(rows)} replays of {len(strategy_ids)} strategies")
    return rows


@dg.op
def backtest_table(context: dg.OpExecutionContext, per_symbol: list) -> list:
    """The night's replays in one table (the asset's value and metadata)."""
    rows = sorted((row for rows in per_symbol for row in rows),
                  key=lambda r: (r["strategy_id"], r["fill_model"]))
    context.add_output_metadata(_replay_metadata(rows))
    return rows


@dg.graph_asset(group_name=BACKTESTS, partitions_def=DAILY, tags=NIGHTLY,
                kinds={"python", "postgres"},
                ins={"market": dg.AssetIn("captured_market_data", dagster_type=dg.Nothing),
                     "accounts": dg.AssetIn("reconciled_account_data",
                                            dagster_type=dg.Nothing)})
def daily_backtests(market, accounts):  # noqa: ANN001, ANN201
    """Every enabled strategy replayed over the day, per fill model, one step per symbol."""
    return backtest_table(symbols_of_day(market=market, accounts=accounts)
                          .map(replay_symbol).collect())


def _replay_metadata(rows: list[dict]) -> dict[str, object]:
    lines = ["| strategy | model | fills | realised PnL | fees | digest |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['strategy_id']} | {r['fill_model']} | {r['fills']} | "
              f"{r['realised_pnl']:.4f} | {r['fees']:.4f} | {r['digest'][:12]} |" for r in rows]
    return {"replays": len(rows), "fills": sum(r["fills"] for r in rows),
            "results": dg.MetadataValue.md("\n".join(lines)),
            "digests": dg.MetadataValue.json(
                {f"{r['strategy_id']}/{r['fill_model']}": r["digest"] for r in rows})}
