"""What the operator commands share: opening the database, reading secrets, failing well.

Every command runs inside :func:`cli_errors`: a problem the operator can fix becomes one
line on stderr (``error: ...``, secrets redacted) and exit code 1; the command's
transaction has rolled back, so nothing changed.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from daemons.db.errors import DataLayerError
from daemons.secrets.redaction import redact

#: Exit code of a refusal: the command was understood, and nothing was changed.
REFUSED = 1
#: Exit code of a malformed command line (click's convention; nothing ran).
USAGE_ERROR = 2


def fail(message: str, exit_code: int = REFUSED) -> NoReturn:
    """Print ``error: message`` (one line, redacted) to stderr and exit with ``exit_code``."""
    line = " ".join(str(message).split())
    typer.echo(f"error: {redact(line)}", err=True)
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
    """Read a secret from the terminal (hidden) or from stdin: never from the command line."""
    from daemons.secrets.envelope import Secret

    if sys.stdin is not None and sys.stdin.isatty():
        value = getpass.getpass(f"{prompt}: ")
    else:
        value = (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")
    if not value.strip():
        fail(f"no {prompt.lower()} given (type it at the prompt or pipe it on stdin)")
    return Secret(value.strip())


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
                if account else None
            user_id = users.get_user(conn, user).user_id if user and not account else None
            rows = lister(conn, account_id=account_id, user_id=user_id)
            names = {a.account_id: f"{a.username}/{a.account_name}"
                     for a in accounts.list_accounts(conn)}
    return rows, names


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]],
                width: int = 160) -> None:
    """Print a rich table (list commands)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(width=width).print(table)
