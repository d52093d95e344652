"""`gridbot db migrate|status|stop|partitions`: the database server and its schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from daemons.cli.support import cli_errors, fail, open_database, print_table

if TYPE_CHECKING:
    from daemons.db.partitions import StrayReport

app = typer.Typer(help="The database: migrations, status, the embedded server.",
                  no_args_is_help=True)


@app.command("migrate")
def migrate() -> None:
    """Apply the pending sql/NNNN_*.sql migrations, then the routine upkeep.

    Upkeep (partitions for the coming months, expired rotated credentials purged) runs
    here because every upgrade passes through this command.
    """
    from daemons.db import maintenance, migrations

    with cli_errors():
        db = open_database(migrated=False)
        with db.admin_autocommit() as conn:
            applied = migrations.migrate(conn)
        with db.admin() as conn:
            report = maintenance.upkeep(conn)
    for migration in applied:
        typer.echo(f"applied {migration.filename}")
    if not applied:
        typer.echo("schema is up to date")
    for _table, name in report.created:
        typer.echo(f"created {name}")
    if report.purged_credentials:
        typer.echo(f"purged {report.purged_credentials} rotated credential(s)"
                   " past their grace period")
    _warn_strays(report.strays)


@app.command("status")
def status() -> None:
    """Show the server, every migration, the coming months' partitions and stray rows."""
    from daemons.db import maintenance, migrations
    from daemons.db import partitions as parts
    from daemons.db.settings import load_settings

    missing: list[tuple[str, str]] = []
    strays: list[StrayReport] = []
    with cli_errors():
        settings = load_settings()
        db = open_database(migrated=False)
        with db.admin() as conn:
            states = migrations.status(conn)
            current = all(s.state == "applied" for s in states)
            if current:  # the partition functions exist
                missing = parts.missing_partitions(conn, maintenance.MONTHS_AHEAD)
                strays = parts.default_partition_strays(conn)
    where = f"embedded, data in {settings.home / 'postgres'}" if settings.embedded \
        else "external (DATABASE_URL)"
    print_table(f"migrations ({where})", ("version", "name", "state", "applied at"),
                [(f"{s.version:04d}", s.name, s.state,
                  s.applied_at.isoformat(timespec="seconds") if s.applied_at else "")
                 for s in states], width=120)
    if missing:
        typer.echo(f"warning: {len(missing)} partition(s) of the next "
                   f"{maintenance.MONTHS_AHEAD} months missing ({', '.join(_first(missing))}):"
                   " run `gridbot db migrate` or `gridbot db partitions`", err=True)
    elif current:
        typer.echo(f"partitions: this month and the next {maintenance.MONTHS_AHEAD}"
                   " exist for every partitioned table")
    _warn_strays(strays)
    broken = [s for s in states if s.state in ("modified", "missing")]
    if broken:
        fail(f"{broken[0].version:04d}_{broken[0].name}.sql is {broken[0].state}")


def _first(partitions: list[tuple[str, str]], shown: int = 3) -> list[str]:
    """The first partition names, and how many more, to keep a warning on one line."""
    names = [name for _table, name in partitions[:shown]]
    return names + ([f"{len(partitions) - shown} more"] if len(partitions) > shown else [])


def _warn_strays(strays: list[StrayReport]) -> None:
    """One warning line per table whose DEFAULT partition holds rows."""
    from daemons.db.maintenance import stray_warning

    for stray in strays:
        typer.echo(f"warning: {stray_warning(stray)}", err=True)


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
    months_ahead: int = typer.Option(3, "--months-ahead",
                                     help="Months to create ahead (0 to 24)."),
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
    _warn_strays(strays)
