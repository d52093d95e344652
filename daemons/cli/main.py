"""The `gridbot` command: the single entry point for every operator action.

Each command group lives in its own module under ``daemons/cli/`` and is attached here;
heavy imports stay inside the commands so that ``gridbot --help`` answers at once.
"""

from __future__ import annotations

import typer

from daemons.cli import demo_cmd, venue_cmd, version_cmd
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
