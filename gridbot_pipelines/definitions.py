"""The Dagster code location: only assembles what the domain folders define.

It also installs gridbot's log redaction, as the ``gridbot`` CLI does: Dagster's code
server imports this module in processes of its own (``dagster dev``, ``dagster api grpc``)
that never run the CLI, and their log records must not carry secrets either. Only the
redaction is installed, not gridbot's stderr handler: Dagster routes its own logs.
"""

from __future__ import annotations

import dagster as dg

from daemons.secrets import redaction
from gridbot_pipelines.defs.backtests import assets as backtest_assets

redaction.install()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([backtest_assets]),
)
