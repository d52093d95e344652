"""The embedded server: started on first use, reused, stopped by `gridbot db stop`."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemons.cli.main import app
from daemons.db.embedded import FAST_SETTINGS, EmbeddedServer
from daemons.db.session import Database
from daemons.db.settings import load_settings
from tests.fixtures.cli import operator_stderr_lines

runner = CliRunner()


@pytest.fixture
def fresh_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty GRIDBOT_HOME with no DATABASE_URL: the embedded default."""
    home = Path(tempfile.mkdtemp(prefix="gridbot-home-"))
    monkeypatch.setenv("GRIDBOT_HOME", str(home))
    for name in ("DATABASE_URL", "GRIDBOT_APP_DATABASE_URL", "GRIDBOT_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield home
    EmbeddedServer(home).destroy()
    shutil.rmtree(home, ignore_errors=True)


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def _pid(home: Path) -> int:
    return json.loads((home / "postgres" / "server.json").read_text())["pid"]


def test_embedded_cli_starts_on_first_use_reuses_and_stops(fresh_home: Path) -> None:
    unmigrated = runner.invoke(app, ["users", "list"])  # starts the server, finds no schema
    lines = operator_stderr_lines(unmigrated.stderr)
    assert unmigrated.exit_code == 1 and len(lines) == 1
    assert lines[0].startswith("error: ") and "gridbot db migrate" in lines[0]
    first = _pid(fresh_home)
    assert "applied 0001_tenants.sql" in _ok("db", "migrate")
    _ok("users", "add", "carol")
    assert "carol" in _ok("users", "list")
    assert _pid(fresh_home) == first  # reused, not restarted
    assert "embedded, data in" in _ok("db", "status")
    assert _ok("db", "stop").strip() == "embedded PostgreSQL stopped"
    assert EmbeddedServer(fresh_home).info() is None
    assert not (fresh_home / "postgres" / "server.json").exists()
    assert _ok("db", "stop").strip() == "embedded PostgreSQL was not running"
    assert "carol" in _ok("users", "list")  # started again, data kept
    assert _pid(fresh_home) != first


def test_embedded_concurrent_starts_share_one_server(fresh_home: Path) -> None:
    server = EmbeddedServer(fresh_home, settings=FAST_SETTINGS)
    pids: list[int] = []

    def start() -> None:
        pids.append(EmbeddedServer(fresh_home, settings=FAST_SETTINGS).ensure_running().pid)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(pids) == 3 and len(set(pids)) == 1
    assert server.info().pid == pids[0]


def test_database_url_set_never_starts_an_embedded_server(
        fresh_home: Path, db_env: dict[str, str]) -> None:
    # db_env points DATABASE_URL at the test server and GRIDBOT_HOME at a new directory.
    database = Database.from_settings()
    try:
        with database.admin() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        database.close()
    assert not (load_settings().home / "postgres").exists()
    assert not (fresh_home / "postgres").exists()
