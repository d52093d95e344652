"""Pipeline tests: one migrated database per test module, the pipeline pointed at it.

Dagster tests are slow to set up, so a module shares one database (a fresh copy of the
migrated template) and one ``GRIDBOT_HOME``; tests in a module keep apart by day and
symbol. Assets run in-process (``dagster.materialize``) with the real resources: the
``DatabaseResource`` finds the database through ``DATABASE_URL`` exactly as it does under
``dagster dev``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemons.db.session import Database
from tests.fixtures.postgres import PgTestServer


@pytest.fixture(scope="module")
def pipeline_db(pg_server: PgTestServer) -> Iterator[Database]:
    """A migrated database for the module, and the environment pointing at it."""
    name = pg_server.create_database()
    home = Path(tempfile.mkdtemp(prefix="gridbot-pipeline-"))
    database = Database(pg_server.admin_url(name), pg_server.app_url(name))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", pg_server.admin_url(name))
        patch.setenv("GRIDBOT_APP_DATABASE_URL", pg_server.app_url(name))
        patch.setenv("GRIDBOT_HOME", str(home))
        patch.delenv("GRIDBOT_MASTER_KEY", raising=False)
        patch.delenv("GRIDBOT_KEY_DIR", raising=False)
        yield database
    database.close()
    pg_server.drop_database(name)
