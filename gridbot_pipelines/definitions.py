"""The Dagster code location ``gridbot``: only assembles what the domain folders define.

It also installs gridbot's log redaction, as the ``gridbot`` CLI does: Dagster's code
server imports this module in processes of its own (``dagster dev``, ``dagster api grpc``,
Celery workers) that never run the CLI, and their log records must not carry secrets
either. Only the redaction is installed, not gridbot's stderr handler: Dagster routes its
own logs.
"""

from __future__ import annotations

import dagster as dg

from daemons.secrets import redaction
from gridbot_pipelines import jobs, schedules, sensors
from gridbot_pipelines.defs.accounts import assets as account_assets
from gridbot_pipelines.defs.accounts import checks as account_checks
from gridbot_pipelines.defs.backtests import assets as backtest_assets
from gridbot_pipelines.defs.maintenance import assets as maintenance_assets
from gridbot_pipelines.defs.market_data import assets as market_assets
from gridbot_pipelines.defs.market_data import checks as market_checks
from gridbot_pipelines.defs.validation import assets as validation_assets
from gridbot_pipelines.executors import executor_from_environment
from gridbot_pipelines.resources import DatabaseResource, bybit_from_environment

redaction.install()

_ASSET_MODULES = [market_assets, account_assets, backtest_assets, maintenance_assets,
                  validation_assets]
_CHECK_MODULES = [market_checks, account_checks]

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(_ASSET_MODULES),
    asset_checks=dg.load_asset_checks_from_modules(_CHECK_MODULES),
    jobs=[jobs.validation_job, jobs.maintenance_job, jobs.backtests_job,
          jobs.live_run_comparison_job],
    schedules=[schedules.validation_job_schedule, schedules.maintenance_job_schedule],
    sensors=[sensors.live_run_sensor, sensors.ended_run_sensor, sensors.strategy_sensor,
             sensors.run_failure_alert_sensor],
    resources={"database": DatabaseResource(), "bybit": bybit_from_environment()},
    executor=executor_from_environment(),
)
