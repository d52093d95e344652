"""great-expectations checks of a captured day, before anything replays it.

Each check reads one frame of the day and runs a GX suite on it
(:func:`gridbot_pipelines.expectations.validate`). The blocking ones guard what a backtest
would silently take for the market: a duplicated trade fills orders twice, a negative
price or a trade outside the day fills what never traded, a ticker stream going back in
time moves the replay's last price backwards, an absurd funding rate charges positions
what no exchange charges, and a long unfilled capture gap hides fills. A failed blocking
check stops every downstream asset of the run (the replays, the comparison).
The receipt-time check only warns: a late receipt is a capture or clock matter, not a
wrong market.
"""

import dagster as dg

from gridbot_pipelines import frames
from gridbot_pipelines.defs.market_data.assets import captured_market_data
from gridbot_pipelines.expectations import inside, positive, validate
from gridbot_pipelines.partitions import DAILY, day_window_ms
from gridbot_pipelines.resources import DatabaseResource

#: A receipt more than this before the exchange's own time means a clock is wrong.
CLOCK_SKEW_MS = 5_000
#: Bybit's normaliser accepts exchange times up to a day after receipt; receipts may lag
#: by hours when REST recovers a quiet symbol's trades.
MAX_RECEIPT_LAG_MS = 86_400_000


class GapConfig(dg.Config):
    """Longest unfilled capture gap a replayable day may have."""

    max_gap_ms: int = 60_000


class FundingConfig(dg.Config):
    """Largest funding rate magnitude taken as real (Bybit's caps stay well below)."""

    max_abs_rate: float = 0.05


def _check(name: str, blocking: bool = True, description: str | None = None):  # noqa: ANN202
    return dg.asset_check(asset=captured_market_data, name=name, blocking=blocking,
                          partitions_def=DAILY, description=description)


@_check("trades_valid")
def trades_valid(context: dg.AssetCheckExecutionContext,
                 database: DatabaseResource) -> dg.AssetCheckResult:
    """Unique trade ids per symbol, times inside the day, positive prices and sizes."""
    day = context.partition_key
    start, end = day_window_ms(day)
    with database.frames() as conn:
        trades = frames.trades(conn, day)
    return validate(trades, "trades", lambda gxe: [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["symbol", "trade_id"]),
        inside(gxe, "exchange_ms", start, end), *positive(gxe, "price", "size"),
        gxe.ExpectColumnValuesToBeInSet(column="side", value_set=["Buy", "Sell"]),
    ])


@_check("tickers_in_order")
def tickers_in_order(context: dg.AssetCheckExecutionContext,
                     database: DatabaseResource) -> dg.AssetCheckResult:
    """Per symbol, in Bybit's cross-sequence order, time never goes back; prices positive."""
    day = context.partition_key
    start, end = day_window_ms(day)
    with database.frames() as conn:
        tickers = frames.tickers(conn, day)
    tickers = tickers.sort_values(["symbol", "cross_seq", "exchange_ms"], kind="stable")
    tickers["time_step_ms"] = tickers.groupby("symbol")["exchange_ms"].diff().fillna(0)
    return validate(tickers, "tickers", lambda gxe: [
        gxe.ExpectColumnValuesToBeBetween(column="time_step_ms", min_value=0),
        inside(gxe, "exchange_ms", start, end), *positive(gxe, "last_price", "mark_price"),
    ])


@_check("funding_rates_sane")
def funding_rates_sane(context: dg.AssetCheckExecutionContext, config: FundingConfig,
                       database: DatabaseResource) -> dg.AssetCheckResult:
    """Settled funding rates within the band, at positive mark prices."""
    with database.frames() as conn:
        funding = frames.funding(conn, context.partition_key)
    return validate(funding, "funding", lambda gxe: [
        gxe.ExpectColumnValuesToBeBetween(column="funding_rate", min_value=-config.max_abs_rate,
                                          max_value=config.max_abs_rate),
        *positive(gxe, "mark_price"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["symbol", "exchange_ms"]),
    ])


@_check("capture_gaps_short")
def capture_gaps_short(context: dg.AssetCheckExecutionContext, config: GapConfig,
                       database: DatabaseResource) -> dg.AssetCheckResult:
    """No unfilled public capture gap of the day longer than ``max_gap_ms``."""
    with database.frames() as conn:
        gaps = frames.gaps(conn, context.partition_key)
    unfilled = gaps[~gaps["filled"].astype(bool)] if len(gaps) else gaps
    return validate(unfilled, "gaps", lambda gxe: [
        gxe.ExpectColumnValuesToBeBetween(column="duration_ms", min_value=0,
                                          max_value=config.max_gap_ms),
    ])


@_check("receipt_times_plausible", blocking=False)
def receipt_times_plausible(context: dg.AssetCheckExecutionContext,
                            database: DatabaseResource) -> dg.AssetCheckResult:
    """Every trade received after the exchange made it (give or take the clock skew) and
    within a day of it."""
    with database.frames() as conn:
        trades = frames.trades(conn, context.partition_key)
    trades["receipt_lag_ms"] = trades["local_ms"] - trades["exchange_ms"]
    return validate(trades, "receipts", lambda gxe: [
        gxe.ExpectColumnValuesToBeBetween(column="receipt_lag_ms", min_value=-CLOCK_SKEW_MS,
                                          max_value=MAX_RECEIPT_LAG_MS),
    ])
