"""`gridbot keys rotate|list|retire`: the master keys that wrap the credentials' data keys."""

from __future__ import annotations

import typer

from daemons.db.cli_support import cli_errors, open_database, print_table

app = typer.Typer(help="Master keys (key-encryption keys).", no_args_is_help=True)


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
    from daemons.db.settings import load_settings
    from daemons.secrets.keys import load_keyring

    with cli_errors():
        keyring = load_keyring(load_settings().home)
        db = open_database()
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
