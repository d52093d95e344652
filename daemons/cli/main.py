"""The `gridbot` command: the single entry point for every operator action.

Each command group lives in its own module under ``daemons/cli/`` and is attached here;
heavy imports stay inside the commands so that ``gridbot --help`` answers at once.
"""

from __future__ import annotations

import typer

from daemons.cli import backtest_cmd, dagster_cmd, demo_cmd, venue_cmd, version_cmd
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


app.command("version", help="Print the gridbot and gridcore versions.")(version_cmd.version)
app.command("demo", help="Run the demo: replay the bundled price path through gridcore.")(
    demo_cmd.demo
)
app.command("venue", help="Serve the local Bybit v5 venue on loopback.")(venue_cmd.venue)
app.command("backtest", help="Replay market data through gridcore with a fill model.")(
    backtest_cmd.backtest
)
app.command("dagster", help="Start the Dagster UI on this project (PostgreSQL storage).")(
    dagster_cmd.dagster
)

from daemons.cli import (  # noqa: E402  (data layer commands, added below the root)
    accounts_cmd,
    capture_cmd,
    credentials_cmd,
    db_cmd,
    keys_cmd,
    strategies_cmd,
    users_cmd,
)

app.add_typer(db_cmd.app, name="db")
app.add_typer(users_cmd.app, name="users")
app.add_typer(accounts_cmd.app, name="accounts")
app.add_typer(credentials_cmd.app, name="credentials")
app.add_typer(strategies_cmd.app, name="strategies")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(capture_cmd.app, name="capture")
