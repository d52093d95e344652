"""`gridbot users add|list|edit|disable|enable` (operator: admin context, sees every user)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

import typer

from daemons.cli.support import USAGE_ERROR, cli_errors, fail, open_database, print_table

if TYPE_CHECKING:
    from psycopg import Connection

app = typer.Typer(help="Users (tenants).", no_args_is_help=True)

_USERNAME = typer.Argument(..., help="The user's login name.")


@app.command("add")
def add(
    username: str = typer.Argument(..., help="Lower-case login name, e.g. alice."),
    email: str | None = typer.Option(None, "--email", help="Contact address (unique)."),
) -> None:
    """Create a user."""
    from daemons.db import users

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            user = users.add_user(conn, username, email)
    typer.echo(f"user {user.username} created ({user.user_id})")


@app.command("list")
def list_() -> None:
    """List every user."""
    from daemons.db import users

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            rows = users.list_users(conn)
    print_table("users", ("username", "email", "status", "user id", "created"),
                [(u.username, u.email or "", u.status, str(u.user_id),
                  u.created_at.isoformat(timespec="seconds")) for u in rows])


@app.command("edit")
def edit(
    username: str = _USERNAME,
    email: str | None = typer.Option(None, "--email", help="New contact address (unique)."),
    clear_email: bool = typer.Option(False, "--clear-email", help="Remove the address."),
) -> None:
    """Change a user's e-mail address."""
    from daemons.db import users

    if (email is None) == (not clear_email):
        fail("give --email ADDRESS or --clear-email (one of them)", exit_code=USAGE_ERROR)
    name = _update(username, lambda conn, user_id: users.set_email(conn, user_id, email))
    typer.echo(f"user {name}: e-mail {'removed' if email is None else 'changed'}")


def _update(username: str, change: Callable[[Connection, UUID], None]) -> str:
    """Apply ``change(conn, user_id)`` to the named user as the operator; return the name."""
    from daemons.db import users

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            user = users.get_user(conn, username)
            change(conn, user.user_id)
    return user.username


def _set_status(username: str, status: str) -> None:
    from daemons.db import users

    name = _update(username, lambda conn, user_id: users.set_status(conn, user_id, status))
    typer.echo(f"user {name} is {status}")


@app.command("disable")
def disable(username: str = _USERNAME) -> None:
    """Suspend a user: the capture daemon drops their accounts (at its next refresh)."""
    _set_status(username, "suspended")


@app.command("enable")
def enable(username: str = _USERNAME) -> None:
    """Make a suspended user active again."""
    _set_status(username, "active")
