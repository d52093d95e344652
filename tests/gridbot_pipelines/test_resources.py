"""DatabaseResource finds the database as the CLI does; frames are scoped like the data
layer's units of work."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from daemons.db import migrations
from daemons.db.embedded import EmbeddedServer
from daemons.db.errors import NotMigrated
from daemons.db.settings import EMBEDDED_DATABASE
from gridbot_pipelines.resources import DatabaseResource
from tests.fixtures.tenants import make_tenant

pytestmark = pytest.mark.timeout(300)


def test_database_resource_without_database_url_uses_the_embedded_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain ``dagster dev`` after the README's set-up: no DATABASE_URL, GRIDBOT_HOME's
    embedded server (started on first use), refused until migrated."""
    home = Path(tempfile.mkdtemp(prefix="gridbot-resource-"))  # not pytest's 0700 tmp
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GRIDBOT_APP_DATABASE_URL", raising=False)
    monkeypatch.setenv("GRIDBOT_HOME", str(home))
    try:
        with pytest.raises(dg.DagsterResourceFunctionError) as refused:
            with dg.build_resources({"database": DatabaseResource()}):
                pass
        assert isinstance(refused.value.__cause__, NotMigrated)
        assert "gridbot db migrate" in str(refused.value.__cause__)
        info = EmbeddedServer(home).ensure_running()
        with psycopg.connect(info.url(EMBEDDED_DATABASE), autocommit=True) as conn:
            migrations.migrate(conn)
        with dg.build_resources({"database": DatabaseResource()}) as resources:
            with resources.database.frames() as conn:
                role = conn.execute(sa.text("SELECT current_user")).scalar_one()
            assert role == "gridbot_app"
            assert resources.database.db.admin_url == info.url(EMBEDDED_DATABASE)
    finally:
        EmbeddedServer(home).destroy()
        shutil.rmtree(home, ignore_errors=True)


def test_database_resource_frames_see_one_users_rows_or_none(
        db, keyring, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("DATABASE_URL", db.admin_url)
    monkeypatch.setenv("GRIDBOT_APP_DATABASE_URL", db.app_login_url)
    alice, bob = make_tenant(db, keyring, "alice"), make_tenant(db, keyring, "bob")
    query = "SELECT user_id FROM private_executions"
    with dg.build_resources({"database": DatabaseResource()}) as resources:
        with resources.database.frames(alice.user_id) as conn:
            mine = pd.read_sql(query, conn)
        with resources.database.frames() as conn:
            market_only = pd.read_sql(query, conn)
        with resources.database.admin_frames() as conn:
            everyone = pd.read_sql(query, conn)
    assert [str(u) for u in mine["user_id"]] == [str(alice.user_id)]
    assert market_only.empty
    assert sorted(map(str, everyone["user_id"])) == sorted([str(alice.user_id),
                                                            str(bob.user_id)])


@pytest.mark.parametrize(("value", "environment"), [(None, "local"), ("testnet", "testnet")])
def test_bybit_from_environment_serves_the_deployments_environment(
        monkeypatch: pytest.MonkeyPatch, value: str | None, environment: str) -> None:
    from gridbot_pipelines.resources import ENVIRONMENT_ENV, bybit_from_environment

    if value is None:
        monkeypatch.delenv(ENVIRONMENT_ENV, raising=False)
    else:
        monkeypatch.setenv(ENVIRONMENT_ENV, value)
    assert bybit_from_environment().environment == environment
