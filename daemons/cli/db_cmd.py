"""`gridbot db migrate|status|stop|partitions`: the database server and its schema."""

from __future__ import annotations

import typer

from daemons.db.cli_support import cli_errors, fail, open_database, print_table

app = typer.Typer(help="The database: migrations, status, the embedded server.",
                  no_args_is_help=True)


@app.command("migrate")
def migrate() -> None:
    """Apply the pending sql/NNNN_*.sql migrations in order, each in a transaction."""
    from daemons.db import migrations

    with cli_errors():
        db = open_database(migrated=False)
        with db.admin_autocommit() as conn:
            applied = migrations.migrate(conn)
    for migration in applied:
        typer.echo(f"applied {migration.filename}")
    if not applied:
        typer.echo("schema is up to date")


@app.command("status")
def status() -> None:
    """Show the server in use and every migration: applied, pending, modified or missing."""
    from daemons.db import migrations
    from daemons.db.settings import load_settings

    with cli_errors():
        settings = load_settings()
        db = open_database(migrated=False)
        with db.admin() as conn:
            states = migrations.status(conn)
    where = f"embedded, data in {settings.home / 'postgres'}" if settings.embedded \
        else "external (DATABASE_URL)"
    print_table(f"migrations ({where})", ("version", "name", "state", "applied at"),
                [(f"{s.version:04d}", s.name, s.state,
                  s.applied_at.isoformat(timespec="seconds") if s.applied_at else "")
                 for s in states], width=120)
    broken = [s for s in states if s.state in ("modified", "missing")]
    if broken:
        fail(f"{broken[0].version:04d}_{broken[0].name}.sql is {broken[0].state}")


@app.command("stop")
def stop() -> None:
    """Stop the embedded PostgreSQL server (the next command starts it again)."""
    from daemons.db.embedded import EmbeddedServer
    from daemons.db.settings import load_settings

    settings = load_settings()
    if not settings.embedded:
        fail("DATABASE_URL is set: gridbot does not manage that server")
    with cli_errors():
        stopped = EmbeddedServer(settings.home).stop()
    typer.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@app.command("partitions")
def partitions(
    months_ahead: int = typer.Option(3, "--months-ahead", help="Months to create ahead."),
    expire: bool = typer.Option(False, "--expire", help="Also drop/archive expired months."),
) -> None:
    """Create the coming months' partitions, report strays in DEFAULT partitions."""
    from daemons.db import partitions as parts

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            created = parts.ensure_partitions(conn, months_ahead=months_ahead)
            expired = parts.expire_partitions(conn) if expire else []
            strays = parts.default_partition_strays(conn)
    for _table, name in created:
        typer.echo(f"created {name}")
    for _table, name, action in expired:
        typer.echo(f"{action} {name}")
    for stray in strays:
        typer.echo(f"warning: {stray.row_count} row(s) of {stray.table_name} in its DEFAULT"
                   f" partition ({stray.oldest:%Y-%m} to {stray.newest:%Y-%m})", err=True)
