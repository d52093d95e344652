"""Jobs, named ``<group>_job``.

``validation_job`` is the nightly validation of one UTC day: every asset tagged
:data:`~gridbot_pipelines.constants.NIGHTLY` with its checks, in lineage order (capture
observed and checked, accounts reconciled, replays; the comparison and the report join by
the same tag). Its blocking checks stop the replays of a day whose data is bad.
"""

from __future__ import annotations

import dagster as dg

from gridbot_pipelines.constants import MAINTENANCE, NIGHTLY

validation_job = dg.define_asset_job(
    "validation_job", selection=dg.AssetSelection.tag(*next(iter(NIGHTLY.items()))),
    description="The nightly validation of a UTC day: reconcile, replay, compare, report.")

maintenance_job = dg.define_asset_job(
    "maintenance_job", selection=dg.AssetSelection.groups(MAINTENANCE),
    description="Partitions ahead; expired partitions archived to Parquet and dropped.")

backtests_job = dg.define_asset_job(
    "backtests_job", selection=dg.AssetSelection.assets("strategy_backtests"),
    description="Stored strategies replayed over captured days, on demand.")
