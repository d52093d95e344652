"""What the operator commands share: opening the database, reading secrets, failing well.

Every command runs inside :func:`cli_errors`: a problem the operator can fix becomes one
line on stderr (``error: ...``, secrets redacted) and exit code 1; the command's
transaction has rolled back, so nothing changed.
"""

from __future__ import annotations

import getpass
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn
from uuid import UUID

import typer

from daemons.db.errors import DataLayerError
from daemons.secrets.redaction import redact

#: Exit code of a refusal: the command was understood, and nothing was changed.
REFUSED = 1
#: Exit code of a malformed command line (click's convention; nothing ran).
USAGE_ERROR = 2


#: The latest moment a time option may name: the end of year 9999.
MAX_TIME_MS = int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)
#: Characters an error line shows at most: a 10 kB value quoted in a message stays readable.
MAX_ERROR_CHARS = 500
#: Unicode categories never printed: controls (escape sequences), format characters
#: (bidirectional overrides), line and paragraph separators, surrogates, private use.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def printable(text: str) -> str:
    """``text`` without the characters that could steer a terminal.

    Names, e-mails and messages can carry what an operator typed or a file held; shown
    as they are, an escape sequence could recolour the terminal, move the cursor or hide
    text, so every command prints stored and quoted text through this (and never as rich
    markup: see :func:`print_table`).
    """
    return "".join(ch for ch in text if unicodedata.category(ch) not in _UNPRINTABLE)


def fail(message: str, exit_code: int = REFUSED) -> NoReturn:
    """Print ``error: message`` (one line, redacted, printable, at most
    :data:`MAX_ERROR_CHARS` characters) to stderr and exit with ``exit_code``."""
    line = redact(" ".join(str(message).split()))
    line = printable(line)
    if len(line) > MAX_ERROR_CHARS:
        line = line[:MAX_ERROR_CHARS - 3] + "..."
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(exit_code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn expected failures into one-line errors; let real bugs show a traceback."""
    import psycopg

    from daemons.db.embedded import EmbeddedServerError
    from daemons.secrets.keys import SecretsError

    try:
        yield
    except (DataLayerError, SecretsError, EmbeddedServerError) as e:
        fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except psycopg.OperationalError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        fail(f"database unavailable: {first}")


def open_database(*, migrated: bool = True):  # -> Database (import kept lazy)
    """Connect as the environment says; with ``migrated``, refuse a schema that is behind."""
    from daemons.db.session import Database, require_migrated

    db = Database.from_settings()
    if migrated:
        require_migrated(db)
    return db


def read_secret(prompt: str):  # -> Secret
    """Read a secret from the terminal (hidden) or from stdin: never from the command line.

    At most :data:`~daemons.db.credentials.MAX_SECRET_CHARS` (and two for the line end)
    are read, so a huge stdin is refused without being held in memory; the data layer
    checks the rest (:func:`daemons.db.credentials.check_secret`).
    """
    from daemons.db.credentials import MAX_SECRET_CHARS
    from daemons.secrets.envelope import Secret

    try:
        if sys.stdin is not None and sys.stdin.isatty():
            value = getpass.getpass(f"{prompt}: ")
        else:
            value = sys.stdin.readline(MAX_SECRET_CHARS + 2) if sys.stdin is not None else ""
    except UnicodeDecodeError:
        fail(f"the {prompt.lower()} is not UTF-8 text")
    value = value.rstrip("\r\n").strip()
    if not value:
        fail(f"no {prompt.lower()} given (type it at the prompt or pipe it on stdin)")
    if len(value) > MAX_SECRET_CHARS:
        fail(f"the {prompt.lower()} is longer than {MAX_SECRET_CHARS} characters")
    return Secret(value)


def rows_of_account(lister, account: str | None, user: str | None):
    """Run ``lister(conn, account_id=..., user_id=...)`` in the admin context (``list``).

    ``--user`` alone narrows the listing to that user's rows, ``--account`` (with an
    optional ``--user`` to pick among owners) to one account; an unknown user or account
    is a one-line error. Returns the rows and a map of account id to ``user/account``
    names for display.
    """
    from daemons.db import accounts, users

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            account_id = accounts.resolve_account(conn, account, user).account_id \
                if account is not None else None
            user_id = users.get_user(conn, user).user_id \
                if user is not None and account is None else None
            rows = lister(conn, account_id=account_id, user_id=user_id)
            names = {a.account_id: f"{a.username}/{a.account_name}"
                     for a in accounts.list_accounts(conn)}
    return rows, names


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]],
                width: int = 160) -> None:
    """Print a rich table (list commands); every cell literally, never as rich markup.

    A cell holds stored text (an e-mail, a name, a config): as markup, ``[/]`` in it
    would crash every later listing and ``[link=...]`` would reach the terminal.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(printable(title)))
    for column in columns:
        table.add_column(Text(column))
    for row in rows:
        table.add_row(*(Text(printable(cell)) for cell in row))
    Console(width=width, highlight=False).print(table)


def time_ms(option: str, text: str | None) -> int | None:
    """ISO date or date-time (UTC unless an offset is given), or epoch milliseconds; from
    1970 to the end of year 9999 (what a timestamp of the data can be)."""
    if text is None:
        return None
    if text.isascii() and text.isdigit():
        moment_ms = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{option}: expected an ISO date/time or epoch ms, got {text!r}"
                             ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment_ms = int(moment.timestamp() * 1000)
    if not 0 <= moment_ms <= MAX_TIME_MS:
        raise ValueError(f"{option}: {text!r} is not between 1970 and 9999")
    return moment_ms


def parse_run_id(text: str) -> UUID:
    """A run id as typed (``--run``); anything else is refused, quoted short."""
    try:
        return UUID(text)
    except ValueError:
        raise ValueError(f"--run: not a run id: {text[:60]!r}") from None
