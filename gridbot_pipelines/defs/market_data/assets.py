"""The captured market of one UTC day: what the capture daemon stored, observed.

The capture daemon writes the rows (``gridbot capture``); this asset does not copy them,
it records what the day holds, so the UI shows per day how many trades, tickers and
funding rows each symbol has, which streams were captured and which gaps capture recorded.
Its checks (``checks.py``) decide whether the day may be replayed.
"""

import dagster as dg

from gridbot_pipelines import frames
from gridbot_pipelines.constants import MARKET_DATA, NIGHTLY
from gridbot_pipelines.partitions import DAILY
from gridbot_pipelines.resources import DatabaseResource


@dg.asset(group_name=MARKET_DATA, partitions_def=DAILY, tags=NIGHTLY, kinds={"postgres"})
def captured_market_data(context: dg.AssetExecutionContext,
                         database: DatabaseResource) -> dg.MaterializeResult:
    """Rows, streams and capture gaps of the day's public trades, tickers and funding."""
    day = context.partition_key
    with database.frames() as conn:
        counts = frames.market_counts(conn, day)
        gaps = frames.gaps(conn, day)
    rows = {table: int(counts.loc[counts["table"] == table, "rows"].sum())
            for table in ("public_trades", "tickers", "funding_rates")}
    unfilled = gaps[~gaps["filled"].astype(bool)] if len(gaps) else gaps
    context.log.info(f"{day}: {rows['public_trades']:,} trades, {rows['tickers']:,} tickers, "
                     f"{len(gaps)} gap(s), {len(unfilled)} unfilled")
    return dg.MaterializeResult(metadata={
        **{f"{table}_rows": count for table, count in rows.items()},
        "streams": sorted(f"{r.table}.{r.symbol}" for r in counts.itertuples()),
        "symbols": sorted(set(counts["symbol"])),
        "gaps": len(gaps),
        "gaps_unfilled": len(unfilled),
        "longest_unfilled_gap_ms": int(unfilled["duration_ms"].max()) if len(unfilled) else 0,
        "rows_by_stream": dg.MetadataValue.md(counts.to_markdown(index=False)
                                              if len(counts) else "no rows"),
    })
