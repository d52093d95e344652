"""gridcore: the pure grid strategy core shared by live trading and backtests.

Standard library only (numpy where a replay needs it): no I/O, no clock, no exchange
imports. Live workers and the backtest's simulated broker both feed events to
:class:`GridEngine` and carry out the intents it returns.
"""

from gridcore.config import Amount, ConfigError, GridConfig
from gridcore.engine import GridEngine
from gridcore.grid import WAIT, Grid, GridLevel
from gridcore.intents import LONG, SHORT, CancelIntent, Intent, PlaceLimitIntent
from gridcore.version import GRIDCORE_VERSION

__all__ = [
    "GRIDCORE_VERSION",
    "LONG",
    "SHORT",
    "WAIT",
    "Amount",
    "CancelIntent",
    "ConfigError",
    "Grid",
    "GridConfig",
    "GridEngine",
    "GridLevel",
    "Intent",
    "PlaceLimitIntent",
]
