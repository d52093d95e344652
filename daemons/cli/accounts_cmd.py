"""`gridbot accounts add|list|disable|enable`: a user's Bybit accounts."""

from __future__ import annotations

from uuid import UUID

import typer

from daemons.cli.support import USAGE_ERROR, cli_errors, fail, open_database, print_table

app = typer.Typer(help="Bybit accounts.", no_args_is_help=True)

_USER = typer.Option(None, "--user", help="Owner's username (needed if the name is shared).")


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Account name, unique for its user."),
    user: str = typer.Option(..., "--user", help="Owner's username."),
    environment: str = typer.Option(..., "--environment", "--env",
                                    help="mainnet, testnet or local."),
) -> None:
    """Add a Bybit account to a user."""
    from daemons.db import accounts, users

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            owner = users.get_user(conn, user)
        with db.unit_of_work(owner.user_id) as conn:
            account = accounts.add_account(conn, owner.user_id, name, environment)
    typer.echo(f"account {account.account_name} ({account.environment}) added for "
               f"{owner.username} ({account.account_id})")


@app.command("list")
def list_(user: str | None = _USER) -> None:
    """List accounts, of every user or of one."""
    from daemons.db import accounts, users

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            owner = users.get_user(conn, user) if user is not None else None
            rows = accounts.list_accounts(conn, owner.user_id if owner else None)
    print_table("accounts", ("user", "account", "environment", "status", "account id"),
                [(a.username, a.account_name, a.environment, a.status, str(a.account_id))
                 for a in rows])


def _set_status(account: str | None, account_id: UUID | None, user: str | None,
                status: str) -> None:
    from daemons.db import accounts

    if (account is None) == (account_id is None):
        fail("name the account, or give its id with --id (not both)", exit_code=USAGE_ERROR)
    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            if account_id is None:
                found = accounts.resolve_account(conn, account, user)
            else:
                found = accounts.get_account(conn, account_id)
                if user is not None and found.username != user:
                    fail(f"account {account_id} does not belong to user {user!r}")
        with db.unit_of_work(found.user_id) as conn:
            accounts.set_status(conn, found.account_id, status)
    typer.echo(f"account {found.account_name} of {found.username} is {status}")


_NAME = typer.Argument(None, help="Account name (or give --id).", show_default=False)
_ID = typer.Option(None, "--id", help="Account id (see `accounts list`), instead of the name.")


@app.command("disable")
def disable(account: str | None = _NAME, account_id: UUID | None = _ID,
            user: str | None = _USER) -> None:
    """Disable an account: daemons stop trading and capturing it."""
    _set_status(account, account_id, user, "disabled")


@app.command("enable")
def enable(account: str | None = _NAME, account_id: UUID | None = _ID,
           user: str | None = _USER) -> None:
    """Enable an account again."""
    _set_status(account, account_id, user, "enabled")
