"""Dagster definitions for gridbot.

Two Dagster features the pipeline relies on are marked preview or beta: partitioned asset
checks (a check of a daily asset checks one day) and the day dimension of the backtests'
multi-partitions. Their warnings, raised once per import in every Dagster process, are
silenced here, by message, so that real warnings stand out in the logs.
"""

import warnings

warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
warnings.filterwarnings("ignore", message="Class `MultiToSingleDimensionPartitionMapping`")
