"""The `gridbot` command: the single entry point for every operator action.

Each command group lives in its own module under ``daemons/cli/`` and is attached here;
heavy imports stay inside the commands so that ``gridbot --help`` answers at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer._click import Context  # typer vendors click and does not re-export these
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

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
from daemons.db.cli_support import USAGE_ERROR, fail
from daemons.logs import configure_logging


@contextmanager
def _usage_errors_as_one_line() -> Iterator[None]:
    """Print a usage error as one ``error: ...`` line instead of click's usage box.

    Operators (and scripts reading stderr) get the same shape as every other refusal;
    ``gridbot`` alone or a bare command group still shows its help.
    """
    try:
        yield
    except NoArgsIsHelpError:
        raise
    except UsageError as e:
        path = e.ctx.command_path if e.ctx is not None else "gridbot"
        fail(f"{e.format_message()} (see `{path} --help`)", exit_code=USAGE_ERROR)


class _GridbotGroup(TyperGroup):
    """The root command group, where every usage error is turned into one line.

    Usage errors are raised while a (sub)command's context is made or while it is invoked,
    and both pass through here whether ``gridbot`` runs as the console script, as ``app()``
    or under ``typer.testing.CliRunner``, so no separate ``main()`` wrapper is needed.
    """

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Context | None = None, **extra: Any) -> Context:
        with _usage_errors_as_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _usage_errors_as_one_line():
            return super().invoke(ctx)


app = typer.Typer(
    name="gridbot",
    cls=_GridbotGroup,
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
