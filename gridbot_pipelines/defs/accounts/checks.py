"""great-expectations checks of the accounts' reconciled day.

A duplicated execution would count a fill twice in the comparison with the backtest and
in the accounting parity; an execution outside the day or at a non-positive price or
size is not a fill the exchange made. So the check blocks what runs after it.
"""

import dagster as dg

from gridbot_pipelines import frames
from gridbot_pipelines.defs.accounts.assets import reconciled_account_data
from gridbot_pipelines.expectations import inside, positive, validate
from gridbot_pipelines.partitions import DAILY, day_window_ms
from gridbot_pipelines.resources import DatabaseResource


@dg.asset_check(asset=reconciled_account_data, blocking=True, partitions_def=DAILY)
def executions_valid(context: dg.AssetCheckExecutionContext,
                     database: DatabaseResource) -> dg.AssetCheckResult:
    """Unique exec ids per account, times inside the day, positive prices and sizes."""
    day = context.partition_key
    start, end = day_window_ms(day)
    with database.admin_frames() as conn:  # every account's rows: an operator's check
        executions = frames.executions(conn, day)
    return validate(executions, "executions", lambda gxe: [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["account_id", "exec_id"]),
        inside(gxe, "exchange_ms", start, end), *positive(gxe, "exec_price", "exec_qty"),
    ])
