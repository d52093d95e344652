"""Numbered migrations: order, checksums, refusal of edited history, transactions."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from daemons.db import migrations
from daemons.db.errors import MigrationError
from tests.fixtures.postgres import PgTestServer


@pytest.fixture
def empty_db(pg_server: PgTestServer) -> Iterator[psycopg.Connection]:
    """An owner connection (autocommit) to a database with no schema at all."""
    name = pg_server.create_database(template=None)
    with psycopg.connect(pg_server.admin_url(name), autocommit=True) as conn:
        yield conn
    pg_server.drop_database(name)


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    """A copy of sql/ that a test may extend or edit."""
    target = tmp_path / "sql"
    shutil.copytree(migrations.MIGRATIONS_DIR, target)
    return target


def test_migrate_fresh_database_applies_every_file_in_order(
        empty_db: psycopg.Connection) -> None:
    applied = migrations.migrate(empty_db)
    files = migrations.discover()
    assert [m.version for m in applied] == [m.version for m in files] == sorted(
        m.version for m in files)
    rows = empty_db.execute("SELECT version, checksum FROM schema_migrations ORDER BY 1").fetchall()
    assert rows == [(m.version, m.checksum) for m in files]
    assert {s.state for s in migrations.status(empty_db)} == {"applied"}


def test_migrate_twice_applies_nothing_the_second_time(empty_db: psycopg.Connection) -> None:
    migrations.migrate(empty_db)
    assert migrations.migrate(empty_db) == []


def test_migrate_new_file_is_pending_then_applied(empty_db: psycopg.Connection,
                                                  sql_dir: Path) -> None:
    migrations.migrate(empty_db, sql_dir)
    (sql_dir / "0999_extra.sql").write_text("CREATE TABLE extra (x int);\n")
    assert [s.name for s in migrations.pending(empty_db, sql_dir)] == ["extra"]
    assert [m.name for m in migrations.migrate(empty_db, sql_dir)] == ["extra"]
    assert migrations.pending(empty_db, sql_dir) == []


def test_migrate_edited_applied_file_is_refused_and_changes_nothing(
        empty_db: psycopg.Connection, sql_dir: Path) -> None:
    migrations.migrate(empty_db, sql_dir)
    first = sorted(sql_dir.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- a harmless-looking edit\n")
    (sql_dir / "0999_extra.sql").write_text("CREATE TABLE extra (x int);\n")
    with pytest.raises(MigrationError, match=f"{first.name} was edited"):
        migrations.migrate(empty_db, sql_dir)
    assert empty_db.execute("SELECT to_regclass('extra')").fetchone()[0] is None
    assert "modified" in {s.state for s in migrations.status(empty_db, sql_dir)}


def test_migrate_failing_file_rolls_back_entirely(empty_db: psycopg.Connection,
                                                  sql_dir: Path) -> None:
    migrations.migrate(empty_db, sql_dir)
    (sql_dir / "0999_broken.sql").write_text(
        "CREATE TABLE half_done (x int);\nSELECT no_such_function();\n")
    with pytest.raises(MigrationError, match="0999_broken.sql failed"):
        migrations.migrate(empty_db, sql_dir)
    assert empty_db.execute("SELECT to_regclass('half_done')").fetchone()[0] is None
    assert [s.state for s in migrations.status(empty_db, sql_dir)][-1] == "pending"


def test_migrate_pending_file_below_an_applied_one_is_refused(
        empty_db: psycopg.Connection, sql_dir: Path) -> None:
    (sql_dir / "0999_last.sql").write_text("SELECT 1;\n")
    migrations.migrate(empty_db, sql_dir)
    (sql_dir / "0500_late.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="0500_late.sql is pending but a later"):
        migrations.migrate(empty_db, sql_dir)


def test_migrate_applied_file_removed_from_disk_is_refused(
        empty_db: psycopg.Connection, sql_dir: Path) -> None:
    (sql_dir / "0999_last.sql").write_text("SELECT 1;\n")
    migrations.migrate(empty_db, sql_dir)
    (sql_dir / "0999_last.sql").unlink()
    with pytest.raises(MigrationError, match="no longer in sql/"):
        migrations.migrate(empty_db, sql_dir)


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_UPPER.sql"])
def test_discover_badly_named_file_is_refused(sql_dir: Path, name: str) -> None:
    (sql_dir / name).write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        migrations.discover(sql_dir)


def test_migrate_concurrent_runs_apply_each_file_once(pg_server: PgTestServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    name = pg_server.create_database(template=None)

    def run() -> int:
        with psycopg.connect(pg_server.admin_url(name), autocommit=True) as conn:
            return len(migrations.migrate(conn))

    try:
        with ThreadPoolExecutor(2) as pool:
            counts = sorted(pool.map(lambda _: run(), range(2)))
        assert counts == [0, len(migrations.discover())]
    finally:
        pg_server.drop_database(name)
