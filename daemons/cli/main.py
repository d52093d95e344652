"""The `gridbot` command: the single entry point for every operator action.

Each command group lives in its own module under ``daemons/cli/`` and is attached here;
heavy imports stay inside the commands so that ``gridbot --help`` answers at once.
"""

from __future__ import annotations

import os
import sys
import traceback
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer import Abort, Exit
from typer._click import Context  # typer vendors click and does not re-export these
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from daemons.cli import (
    accounts_cmd,
    backtest_cmd,
    calibrate_cmd,
    capture_cmd,
    compare_cmd,
    credentials_cmd,
    dagster_cmd,
    db_cmd,
    demo_cmd,
    keys_cmd,
    reports_cmd,
    strategies_cmd,
    trade_cmd,
    users_cmd,
    venue_cmd,
    version_cmd,
)
from daemons.cli.support import USAGE_ERROR, fail
from daemons.logs import configure_logging
from daemons.secrets.redaction import redact

#: ``GRIDBOT_DEBUG=1`` (or ``--debug``) adds the redacted traceback of an unexpected error.
DEBUG_ENV = "GRIDBOT_DEBUG"
#: Longest command-line value: PATH_MAX; no name, key, number or path needs more.
MAX_ARGUMENT_CHARS = 4096


@contextmanager
def _errors_as_one_line(debug: bool) -> Iterator[None]:
    """Every failure of every command ends as one redacted ``error: ...`` line.

    A usage error exits 2 (click's convention), any other error 1. An unexpected
    exception (a bug, or input nothing checked) is reported the same way, with its
    redacted traceback only under ``--debug``: a traceback can quote whatever the failing
    code held (a database URL with its password, say), and typer's own exception hook would
    print it unredacted. ``gridbot`` alone or a bare command group still shows its help.
    """
    try:
        yield
    except (NoArgsIsHelpError, Exit, Abort):
        raise
    except UsageError as e:
        path = e.ctx.command_path if e.ctx is not None else "gridbot"
        fail(f"{e.format_message()} (see `{path} --help`)", exit_code=USAGE_ERROR)
    except ClickException as e:
        fail(e.format_message())
    except Exception as e:  # noqa: BLE001 - the one place every other error ends
        if debug:
            sys.stderr.write(redact("".join(traceback.format_exception(e))))
        detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
        hint = "" if debug else f" (traceback: --debug or {DEBUG_ENV}=1)"
        fail(f"unexpected {type(e).__name__}{': ' if detail else ''}{detail}{hint}")


def _debug_asked(args: list[str]) -> bool:
    """Whether the traceback was asked for (before ``--debug`` itself is parsed)."""
    asked = os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")
    return asked or "--debug" in args


def _refuse_unusable_arguments(args: list[str]) -> None:
    """Refuse, before parsing, what no option or argument of any command can mean.

    * An empty value: some would read as "no filter at all" (``credentials list --user ''``
      listing every tenant), others fall back to a default without saying so.
    * A control character (an escape sequence, a NUL): it would reach the terminal of
      whoever reads the value back, or be stored where nothing expects it.
    * More than :data:`MAX_ARGUMENT_CHARS` characters (the longest path Linux takes).
    """
    for index, arg in enumerate(args):
        after = f" after {args[index - 1][:40]}" if index else ""
        if arg.strip() == "" or (arg.startswith("--") and arg.endswith("=")):
            problem = "empty value"
        elif len(arg) > MAX_ARGUMENT_CHARS:
            problem = f"a value of {len(arg)} characters (at most {MAX_ARGUMENT_CHARS})"
        elif any(unicodedata.category(ch) == "Cc" for ch in arg):
            problem = "a control character"
        else:
            continue
        raise UsageError(f"{problem}{after}: give a usable value or leave the option out")


class _GridbotGroup(TyperGroup):
    """The root command group, where every error is turned into one line.

    Errors are raised while a (sub)command's context is made or while it is invoked, and
    both pass through here whether ``gridbot`` runs as the console script, as ``app()``
    or under ``typer.testing.CliRunner``, so no separate ``main()`` wrapper is needed.
    """

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Context | None = None, **extra: Any) -> Context:
        with _errors_as_one_line(_debug_asked(args)):
            _refuse_unusable_arguments(args)
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _errors_as_one_line(bool(ctx.params.get("debug"))):
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
    debug: bool = typer.Option(False, "--debug", envvar=DEBUG_ENV,
                               help="Print the (redacted) traceback of an unexpected error."),
) -> None:
    """Grid-bot validation platform for Bybit USDT perpetuals (cross margin, hedge mode)."""
    configure_logging(verbose=verbose)


_COMMANDS = [
    ("version", version_cmd.version, "Print the gridbot and gridcore versions."),
    ("demo", demo_cmd.demo, "Run the whole system on the embedded defaults: capture, trade, "
                            "validate in Dagster, print the verdicts."),
    ("backtest", backtest_cmd.backtest, "Replay market data through gridcore with a fill model."),
    ("venue", venue_cmd.venue, "Serve the local Bybit v5 venue on loopback."),
    ("dagster", dagster_cmd.dagster, "Start the Dagster UI on this project (PostgreSQL storage)."),
    ("compare", compare_cmd.compare, "Compare a live run with seeded replays of its window."),
]
_GROUPS = [
    ("db", db_cmd.app), ("users", users_cmd.app), ("accounts", accounts_cmd.app),
    ("credentials", credentials_cmd.app), ("strategies", strategies_cmd.app),
    ("keys", keys_cmd.app), ("capture", capture_cmd.app), ("trade", trade_cmd.app),
    ("reports", reports_cmd.app), ("calibrate", calibrate_cmd.app),
]
for _name, _function, _help in _COMMANDS:
    app.command(_name, help=_help)(_function)
for _name, _group in _GROUPS:
    app.add_typer(_group, name=_name)
