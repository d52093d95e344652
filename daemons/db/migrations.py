"""Numbered SQL migrations: ``sql/NNNN_name.sql``, applied in order, each in a transaction.

Applied files are recorded in ``schema_migrations`` with the SHA-256 of their text. A file
edited after it was applied, an applied file that disappeared, or a pending file numbered
below an applied one stops :func:`migrate` before it changes anything: history is only
ever extended by new files.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from daemons.db.errors import MigrationError

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "sql"
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x67726964_626F74  # pg_advisory_lock key: "gridbot"

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version      integer PRIMARY KEY,
    name         text NOT NULL,
    checksum     text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    duration_ms  integer NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    path: Path
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """A migration's state: ``applied``, ``pending``, ``modified`` or ``missing``."""

    version: int
    name: str
    state: str
    applied_at: object | None = None


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Return the migration files of ``directory`` sorted by version."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match["version"])
        if version in found:
            raise MigrationError(f"{path.name}: version {version:04d} is used twice")
        found[version] = Migration(version, match["name"], path, _checksum(path))
    return [found[v] for v in sorted(found)]


def status(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Compare the files with ``schema_migrations`` (read only)."""
    files = {m.version: m for m in discover(directory)}
    applied = _applied(conn)
    rows: list[MigrationStatus] = []
    for version in sorted(set(files) | set(applied)):
        migration, record = files.get(version), applied.get(version)
        if record is None:
            rows.append(MigrationStatus(version, migration.name, "pending"))
            continue
        name, checksum, applied_at = record
        if migration is None:
            state = "missing"
        else:
            state = "applied" if migration.checksum == checksum else "modified"
        rows.append(MigrationStatus(version, name, state, applied_at))
    return rows


def migrate(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations in order; return those applied.

    ``conn`` is an owner connection in autocommit mode. A session advisory lock makes
    concurrent runs wait for each other instead of applying a file twice.
    """
    files = discover(directory)
    conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        conn.execute(_BOOTSTRAP)
        _refuse_broken_history(status(conn, directory))
        applied = _applied(conn)
        done: list[Migration] = []
        for migration in files:
            if migration.version in applied:
                continue
            started = time.monotonic()
            try:
                with conn.transaction():
                    conn.execute(migration.sql())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum, duration_ms)"
                        " VALUES (%s, %s, %s, %s)",
                        [migration.version, migration.name, migration.checksum,
                         int((time.monotonic() - started) * 1000)],
                    )
            except psycopg.Error as e:
                first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise MigrationError(f"{migration.filename} failed: {first_line}") from e
            done.append(migration)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def pending(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """The migrations not yet applied (empty when the schema is current)."""
    return [s for s in status(conn, directory) if s.state == "pending"]


def _refuse_broken_history(states: list[MigrationStatus]) -> None:
    for state in states:
        if state.state == "modified":
            raise MigrationError(
                f"{state.version:04d}_{state.name}.sql was edited after it was applied;"
                " restore it and add a new migration instead")
        if state.state == "missing":
            raise MigrationError(
                f"{state.version:04d}_{state.name}.sql was applied but is no longer in sql/")
    applied = [s.version for s in states if s.state == "applied"]
    for state in states:
        if state.state == "pending" and applied and state.version < max(applied):
            raise MigrationError(
                f"{state.version:04d}_{state.name}.sql is pending but a later migration"
                f" ({max(applied):04d}) is already applied; renumber it")


def _applied(conn: psycopg.Connection) -> dict[int, tuple[str, str, object]]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return {}
    rows = conn.execute("SELECT version, name, checksum, applied_at FROM schema_migrations")
    return {version: (name, checksum, at) for version, name, checksum, at in rows}


def _checksum(path: Path) -> str:
    text = path.read_bytes().replace(b"\r\n", b"\n")
    return hashlib.sha256(text).hexdigest()
