"""A daemon's status file: written atomically, read by ``gridbot ... status``, judged alive.

Daemons rewrite a JSON status document every second or so; the status commands read it,
so an operator needs no port and no credentials to look. The document names the process
that wrote it (``pid`` and ``process_started``, since pids are reused) and when
(``updated_ms``): if that process is gone the daemon is stopped, whatever the file's age;
a live one whose file is older than a few seconds is stuck.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import psutil

STALE_AFTER_S = 5.0
#: Two readings of one process's start time differ by less than this: the OS derives it
#: from the boot time, which it keeps in whole seconds. A reused pid belongs to a process
#: started later, after the daemon it replaced had run and died.
SAME_START_S = 1.0


def stamp() -> dict[str, Any]:
    """The fields that say which process wrote a document, and when."""
    pid = os.getpid()
    return {"pid": pid, "process_started": process_started(pid),
            "updated_ms": time.time_ns() // 1_000_000}


def write_status(path: Path, snapshot: dict[str, Any]) -> None:
    """Replace the status file atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snapshot, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def writer_alive(snapshot: dict[str, Any]) -> bool:
    """Whether the process that wrote ``snapshot`` still runs (not another one on its pid)."""
    recorded = snapshot.get("process_started")
    started = process_started(snapshot["pid"])
    return recorded is not None and started is not None \
        and abs(started - recorded) < SAME_START_S


def state(snapshot: dict[str, Any], now_ms: int | None = None) -> str:
    """``running``, ``NOT UPDATING for N s`` (alive but stuck) or ``stopped (last seen ...)``."""
    now_ms = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    updated_ms = snapshot["updated_ms"]
    age_s = (now_ms - updated_ms) / 1000
    if not writer_alive(snapshot):
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(updated_ms / 1000))
        return f"stopped (last seen {seen} UTC, {age_s:.0f} s ago)"
    return "running" if age_s <= STALE_AFTER_S else f"NOT UPDATING for {age_s:.0f} s"
