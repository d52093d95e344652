"""No child process holds a secret: the embedded PostgreSQL and Dagster run without the
master key in their environment (docs/secrets.md, "Which processes hold the master key")."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from daemons.db.embedded import FAST_SETTINGS, EmbeddedServer
from daemons.secrets.child_env import child_environment, is_secret_variable
from tests.fixtures.leak_guard import scan_output
from tests.fixtures.secrets import make_master_key, make_secret_text

#: A secret under a name that only the pattern (not the list of known names) catches.
OTHER_SECRET_VAR = "EXCHANGE_API_SECRET"


def _secrets_in(environ: bytes, secrets: list[str]) -> list[str]:
    """The names of ``secrets`` found in a NUL-separated environment (never the values)."""
    names = [entry.split(b"=", 1)[0].decode() for entry in environ.split(b"\0") if entry]
    return [f"value {i}" for i, s in enumerate(secrets) if s.encode() in environ] + \
        [n for n in names if n in ("GRIDBOT_MASTER_KEY", OTHER_SECRET_VAR)]


def test_child_env_embedded_server_environment_holds_no_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from /proc and, as the database owner would, from SQL: no secret in either."""
    key, other = make_master_key().encode(), make_secret_text()
    monkeypatch.setenv("GRIDBOT_MASTER_KEY", key)
    monkeypatch.setenv(OTHER_SECRET_VAR, other)
    home = Path(tempfile.mkdtemp(prefix="gridbot-env-"))  # not pytest's 0700 tmp (root runs)
    server = EmbeddedServer(home, settings=FAST_SETTINGS)
    try:
        info = server.ensure_running()
        pid = int((info.pgdata / "postmaster.pid").read_text().splitlines()[0])
        from_proc = Path(f"/proc/{pid}/environ").read_bytes()
        with psycopg.connect(info.url("postgres"), autocommit=True) as conn:
            from_sql = bytes(conn.execute("SELECT pg_read_binary_file(%s)",
                                          [f"/proc/{pid}/environ"]).fetchone()[0])
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)
    assert b"PATH=" in from_proc and from_sql == from_proc
    found = _secrets_in(from_proc, [key, other])
    assert found == [], f"the server's environment holds {found}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environ_after_exec(pid: int, marker: bytes, timeout_s: float) -> bytes:
    """The environment of ``pid`` once its command line holds ``marker`` (it has exec'd)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if marker in Path(f"/proc/{pid}/cmdline").read_bytes():
            return Path(f"/proc/{pid}/environ").read_bytes()
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exec into {marker!r}")


def test_child_env_dagster_process_environment_holds_no_master_key(
        db_env: dict[str, str], tmp_path: Path) -> None:
    """`gridbot dagster` replaces itself with the supervisor of `dagster dev`: read that
    process's environment (`dagster dev` and every Dagster child inherit it)."""
    key, other = make_master_key().encode(), make_secret_text()
    env = {**os.environ, "GRIDBOT_MASTER_KEY": key, OTHER_SECRET_VAR: other}
    output = tmp_path / "dagster.out"
    with open(output, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from daemons.cli.main import app; app()", "dagster",
             "--port", str(_free_port()), "--dagster-home", str(tmp_path / "dagster")],
            env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        environ = _environ_after_exec(proc.pid, b"workspace.yaml", 120)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        scan_output(output.read_bytes(), "gridbot dagster")
    assert b"DAGSTER_HOME=" in environ and b"GRIDBOT_DAGSTER_PG_URL=" in environ
    found = _secrets_in(environ, [key, other])
    assert found == [], f"Dagster's environment holds {found}"


@pytest.mark.parametrize(("name", "secret"), [
    ("GRIDBOT_MASTER_KEY", True), ("PGPASSWORD", True), ("BYBIT_API_SECRET", True),
    ("GITHUB_TOKEN", True), ("db_password", True), ("PATH", False),
    ("DATABASE_URL", False), ("GRIDBOT_HOME", False), ("GRIDBOT_KEY_DIR", False),
])
def test_child_env_secret_variables_are_recognised_by_name(name: str, secret: bool) -> None:
    assert is_secret_variable(name) is secret
    env = child_environment({"EXTRA": "1"}, environ={name: "value", "HOME": "/root"})
    assert (name in env) is not secret and env["EXTRA"] == "1" and env["HOME"] == "/root"
