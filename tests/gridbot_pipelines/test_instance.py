"""The Dagster instance of dagster.yaml: runs and event logs go to PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest

from daemons.dagster_env import DAGSTER_DATABASE, dagster_environment, with_database
from gridbot_pipelines.defs.backtests.assets import bundled_month_replay


def test_with_database_swaps_only_the_database() -> None:
    url = "postgresql://u@/gridbot?host=/tmp/sock&port=5432"
    assert with_database(url, "dagster") == "postgresql://u@/dagster?host=/tmp/sock&port=5432"


def test_dagster_instance_stores_runs_in_postgres(db, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env = dagster_environment(db, tmp_path / "dagster_home")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert "postgresql+psycopg2://" in env["GRIDBOT_DAGSTER_PG_URL"]
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.run_storage.postgres_url == env["GRIDBOT_DAGSTER_PG_URL"]
        result = dg.materialize(
            [bundled_month_replay], instance=instance,
            run_config={"ops": {"bundled_month_replay": {"config": {"max_bars": 500}}}},
        )
        assert result.success
        assert instance.get_run_by_id(result.run_id) is not None
    with psycopg.connect(with_database(db.admin_url, DAGSTER_DATABASE)) as conn:
        # the server's `dagster` database is shared by this process's tests: find this run
        assert conn.execute("SELECT status FROM runs WHERE run_id = %s",
                            [result.run_id]).fetchone() == ("SUCCESS",)
