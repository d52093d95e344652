"""The demo's own state directory: its embedded server, keys, logs and reports.

Every demo starts from nothing: a fresh embedded PostgreSQL, a fresh master key, fresh
users. Starting from nothing means deleting the previous demo's directory, so the demo
only ever deletes a directory it made (one holding its marker file) or an empty one: a
``--home`` pointing at anything else is refused, never wiped. The directory is separate
from ``GRIDBOT_HOME`` itself, so a demo never touches a user's real database or keys.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import psutil

from daemons.db.embedded import EmbeddedServer
from daemons.db.settings import gridbot_home
from daemons.secrets.child_env import child_environment

MARKER = ".gridbot-demo"
#: Variables that would point a child at another database than the demo's embedded one.
FOREIGN_DATABASE = ("DATABASE_URL", "GRIDBOT_APP_DATABASE_URL", "GRIDBOT_DAGSTER_PG_URL",
                    "DAGSTER_HOME", "GRIDBOT_LOCAL_VENUE_URL")


class DemoHomeError(RuntimeError):
    """The demo directory cannot be used (not the demo's own, or not writable)."""


def default_home() -> Path:
    return gridbot_home() / "demo"


def fresh_home(home: Path) -> Path:
    """Stop the previous demo's server in ``home``, empty it, mark it as the demo's."""
    home = home.expanduser().resolve()
    if home.exists():
        if not home.is_dir():
            raise DemoHomeError(f"{home} is not a directory")
        if any(home.iterdir()) and not (home / MARKER).is_file():
            raise DemoHomeError(f"{home} is not empty and not a demo directory (no {MARKER}); "
                                "choose another --home")
        stop_leftovers(home)
        stop_server(home)
        shutil.rmtree(home)
    try:
        home.mkdir(parents=True)
        (home / MARKER).write_text("made by `gridbot demo`; deleted by the next demo\n")
    except OSError as e:
        raise DemoHomeError(f"cannot create {home}: {e.strerror or type(e).__name__}") from None
    return home


def stop_leftovers(home: Path, grace_s: float = 10.0) -> int:
    """Stop what a previous demo in ``home`` left running; how many processes.

    A demo stops its children however it ends, except when it is itself killed with
    SIGKILL (or the machine's OOM killer): its children, in sessions of their own, go on.
    They are found by the ``GRIDBOT_HOME`` the demo gave them (no other process has it),
    sent SIGTERM, and killed after ``grace_s``.
    """
    wanted = str(home)
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get("GRIDBOT_HOME") == wanted:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    for process in found:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(found, timeout=grace_s)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=5)
    return len(found)


def stop_server(home: Path) -> bool:
    """Stop the embedded server of the demo in ``home`` (True if one was running)."""
    return EmbeddedServer(home).stop()


def demo_environment(home: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The children's environment: no secret, no other database, ``GRIDBOT_HOME`` the demo's."""
    environ = os.environ if environ is None else environ
    own = {k: v for k, v in environ.items() if k not in FOREIGN_DATABASE}
    return child_environment({"GRIDBOT_HOME": str(home), "PYTHONUNBUFFERED": "1",
                              "NO_COLOR": "1"}, environ=own)
