"""The Dagster instance's environment: its PostgreSQL storage on gridbot's server.

Dagster keeps runs, event logs and schedules in its own database (``dagster``) on the same
server as gridbot's tables: the embedded one by default, ``DATABASE_URL``'s otherwise.
``dagster.yaml`` (at the repository root) names the storage class
``gridbot_pipelines.storage.GridbotStorage``, which asks :func:`storage_url` where that
database is: ``GRIDBOT_DAGSTER_PG_URL`` when set (``gridbot dagster`` sets it, so every
Dagster process agrees without starting anything), else found as every gridbot command
finds its database, so a plain ``dagster dev`` from the repository root needs nothing
else. This module creates the database and lays out ``DAGSTER_HOME``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from daemons.db.session import Database, ensure_database, sqlalchemy_url

DAGSTER_DATABASE = "dagster"
PG_URL_ENV = "GRIDBOT_DAGSTER_PG_URL"
REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server (query kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def dagster_database_url(db: Database) -> str:
    """Create the storage database on ``db``'s server if missing; its URL for Dagster."""
    ensure_database(db.admin_url, DAGSTER_DATABASE)
    return sqlalchemy_url(with_database(db.admin_url, DAGSTER_DATABASE))


def storage_url() -> str:
    """Where Dagster's storage is (see the module docstring)."""
    return os.environ.get(PG_URL_ENV) or dagster_database_url(Database.from_settings())


def dagster_environment(db: Database, dagster_home: Path) -> dict[str, str]:
    """Create the storage database and ``dagster_home``; return the variables to export."""
    url = dagster_database_url(db)
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_DAGSTER_YAML, dagster_home / "dagster.yaml")
    return {"DAGSTER_HOME": str(dagster_home), PG_URL_ENV: url}
