"""`gridbot credentials add|rotate|list|purge`: API keys, stored envelope-encrypted.

The API secret is read from a hidden prompt or from stdin, never from the command line
(argv is visible to every user of the machine through ``ps``).
"""

from __future__ import annotations

import typer

from daemons.cli.support import (
    cli_errors,
    open_database,
    print_table,
    read_secret,
    rows_of_account,
)

app = typer.Typer(help="API credentials (secrets are encrypted, never shown).",
                  no_args_is_help=True)

_ACCOUNT = typer.Option(..., "--account", help="Account name.")
_USER = typer.Option(None, "--user", help="Owner's username (needed if the name is shared).")
_API_KEY = typer.Option(..., "--api-key", help="The API key id (public half of the pair).")
#: Longest grace period of a rotated API key: a month covers any order still in flight.
MAX_GRACE_HOURS = 24.0 * 31


def _store(account: str, user: str | None, api_key: str, *, rotate: bool,
           grace_hours: float) -> None:
    from datetime import timedelta

    from daemons.db import accounts, credentials
    from daemons.db.keyring import open_keyring
    from daemons.db.settings import load_settings

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            found = accounts.resolve_account(conn, account, user)
        keyring = open_keyring(db, load_settings().home)
        secret = read_secret("API secret")
        with db.unit_of_work(found.user_id) as conn:
            if rotate:
                info = credentials.rotate_credential(conn, keyring, found.account_id, api_key,
                                                     secret, timedelta(hours=grace_hours))
            else:
                info = credentials.add_credential(conn, keyring, found.account_id, api_key,
                                                  secret)
    verb = "rotated to" if rotate else "stored"
    typer.echo(f"{found.username}/{found.account_name}: {verb} API key {info.api_key_id} "
               f"(encrypted under master key {info.encryption_key_id})")


@app.command("add")
def add(account: str = _ACCOUNT, api_key: str = _API_KEY, user: str | None = _USER) -> None:
    """Store an account's API key; the secret is read from the prompt or stdin."""
    _store(account, user, api_key, rotate=False, grace_hours=0)


@app.command("rotate")
def rotate(
    account: str = _ACCOUNT,
    api_key: str = _API_KEY,
    user: str | None = _USER,
    grace_hours: float = typer.Option(24.0, "--grace-hours", min=0.0, max=MAX_GRACE_HOURS,
                                      help="Keep the old key (inactive) this long."),
) -> None:
    """Replace an account's API key: the new one becomes active, the old one inactive."""
    _store(account, user, api_key, rotate=True, grace_hours=grace_hours)


@app.command("list")
def list_(account: str | None = typer.Option(None, "--account", help="Account name."),
          user: str | None = _USER) -> None:
    """List credentials: key ids and master key ids, never secrets."""
    from daemons.db import credentials

    rows, names = rows_of_account(credentials.list_credentials, account, user)
    print_table("credentials",
                ("account", "api key", "master key", "active", "created", "delete after"),
                [(names.get(c.account_id, str(c.account_id)), c.api_key_id,
                  c.encryption_key_id, "yes" if c.is_active else "no",
                  c.created_at.isoformat(timespec="seconds"),
                  c.delete_after.isoformat(timespec="seconds") if c.delete_after else "")
                 for c in rows])


@app.command("purge")
def purge() -> None:
    """Delete rotated credentials whose grace period is over (schedule it, e.g. daily)."""
    from daemons.db import credentials

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            purged = credentials.purge_rotated(conn)
    typer.echo(f"purged {purged} rotated credential(s) past their grace period")
