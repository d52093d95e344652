"""The `gridbot` command: the single entry point for every operator action.

Each command group lives in its own module under ``daemons/cli/`` and is attached here;
heavy imports stay inside the commands so that ``gridbot --help`` answers at once.
"""

from __future__ import annotations

import typer

from daemons.cli import (
    accounts_cmd,
    backtest_cmd,
    capture_cmd,
    credentials_cmd,
    dagster_cmd,
    db_cmd,
    demo_cmd,
    keys_cmd,
    strategies_cmd,
    users_cmd,
    venue_cmd,
    version_cmd,
)
from daemons.logs import configure_logging

app = typer.Typer(
    name="gridbot",
    help="Grid-bot validation platform for Bybit USDT perpetuals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
) -> None:
    """Grid-bot validation platform for Bybit USDT perpetuals (cross margin, hedge mode)."""
    configure_logging(verbose=verbose)


_COMMANDS = [
    ("version", version_cmd.version, "Print the gridbot and gridcore versions."),
    ("demo", demo_cmd.demo, "Run the demo: replay the bundled price path through gridcore."),
    ("backtest", backtest_cmd.backtest, "Replay market data through gridcore with a fill model."),
    ("venue", venue_cmd.venue, "Serve the local Bybit v5 venue on loopback."),
    ("dagster", dagster_cmd.dagster, "Start the Dagster UI on this project (PostgreSQL storage)."),
]
_GROUPS = [
    ("db", db_cmd.app), ("users", users_cmd.app), ("accounts", accounts_cmd.app),
    ("credentials", credentials_cmd.app), ("strategies", strategies_cmd.app),
    ("keys", keys_cmd.app), ("capture", capture_cmd.app),
]
for _name, _function, _help in _COMMANDS:
    app.command(_name, help=_help)(_function)
for _name, _group in _GROUPS:
    app.add_typer(_group, name=_name)
