"""The Dagster instance's environment: its PostgreSQL storage on gridbot's server.

Dagster keeps runs, event logs and schedules in its own database (``dagster``) on the same
server as gridbot's tables: the embedded one by default, ``DATABASE_URL``'s otherwise.
``dagster.yaml`` (at the repository root) reads the storage URL from
``GRIDBOT_DAGSTER_PG_URL``; this module creates the database, fills that variable and lays
out ``DAGSTER_HOME``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from daemons.db.session import Database, ensure_database, sqlalchemy_url

DAGSTER_DATABASE = "dagster"
REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server (query kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def dagster_environment(db: Database, dagster_home: Path) -> dict[str, str]:
    """Create the storage database and ``dagster_home``; return the variables to export."""
    ensure_database(db.admin_url, DAGSTER_DATABASE)
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_DAGSTER_YAML, dagster_home / "dagster.yaml")
    return {
        "DAGSTER_HOME": str(dagster_home),
        "GRIDBOT_DAGSTER_PG_URL": sqlalchemy_url(with_database(db.admin_url, DAGSTER_DATABASE)),
    }
