"""`gridbot users add|list` (operator: admin context, sees every user)."""

from __future__ import annotations

import typer

from daemons.db.cli_support import cli_errors, open_database, print_table

app = typer.Typer(help="Users (tenants).", no_args_is_help=True)


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
