"""`gridbot keys init|rotate|list|retire`: the master keys that wrap the data keys."""

from __future__ import annotations

import os

import typer

from daemons.cli.support import cli_errors, fail, open_database, print_table

app = typer.Typer(help="Master keys (key-encryption keys).", no_args_is_help=True)


@app.command("init")
def init() -> None:
    """Create the key directory's first master key (refused if it already holds one)."""
    from daemons.db.settings import load_settings
    from daemons.secrets.keys import ENV_VAR, KeyDirectory, key_directory

    with cli_errors():
        if os.environ.get(ENV_VAR):
            fail(f"{ENV_VAR} is set: the keys come from it, not from a key directory")
        directory = KeyDirectory(key_directory(load_settings().home))
        key = directory.init()
    typer.echo(f"master key {key.key_id} created in {directory.path}")


@app.command("rotate")
def rotate() -> None:
    """Re-wrap every data key under a new master key; safe to interrupt and run again."""
    from daemons.db.key_rotation import rotate_master_key
    from daemons.db.settings import load_settings

    with cli_errors():
        db = open_database()
        report = rotate_master_key(db, load_settings().home)
    typer.echo(f"master key is now {report.target_key_id}; "
               f"{report.rewrapped} data key(s) re-wrapped")
    if report.retired_key_ids:
        typer.echo("no credential uses " + ", ".join(report.retired_key_ids) +
                   " any more: keep the key(s) while older backups matter, then"
                   " `gridbot keys retire`")


@app.command("list")
def list_() -> None:
    """List the available master keys and how many credentials each one wraps."""
    from daemons.db import credentials
    from daemons.db.keyring import open_keyring
    from daemons.db.settings import load_settings

    with cli_errors():
        db = open_database()
        keyring = open_keyring(db, load_settings().home, create=False)
        with db.admin() as conn:
            counts = credentials.count_by_key(conn)
    rows = []
    for key_id in sorted(set(keyring.keys) | set(counts)):
        state = "yes" if key_id == keyring.active.key_id else \
            ("no" if key_id in keyring.keys else "MISSING")
        rows.append((key_id, state, str(counts.get(key_id, 0))))
    print_table(f"master keys ({keyring.source})", ("key id", "active", "credentials"), rows)


@app.command("retire")
def retire() -> None:
    """Delete the key files no credential uses any more (key directory only)."""
    from daemons.db.key_rotation import retire_unused_keys
    from daemons.db.settings import load_settings

    with cli_errors():
        retired = retire_unused_keys(open_database(), load_settings().home)
    typer.echo("retired " + ", ".join(retired) if retired else "no unused key to retire")
