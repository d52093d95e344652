"""The supervisor `gridbot dagster` becomes: a stop reaches every process of the group."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = pytest.mark.timeout(120)

#: A parent that stops on Ctrl-C and a child that ignores every polite signal (a step
#: stuck in C code, a server that does not handle SIGINT), started before "ready".
_PROGRAM = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c",
    "import signal, time\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\\n"
    "time.sleep(600)"])
print("ready", flush=True)
try:
    time.sleep(600)
except KeyboardInterrupt:
    sys.exit(0)
"""


def _start(*supervisor: str) -> tuple[subprocess.Popen, list[psutil.Process]]:
    process = subprocess.Popen([*supervisor, sys.executable, "-c", _PROGRAM],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # the child is up (it was started before "ready")
    return process, psutil.Process(process.pid).children(recursive=True)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _kill(processes: list[psutil.Process]) -> None:
    for p in _alive(processes):
        p.kill()


def test_process_group_sigterm_ends_a_child_that_ignores_it() -> None:
    process, started = _start(sys.executable, "-m", "daemons.process_group")
    try:
        assert len(started) == 2  # the program and its stubborn child
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0  # the program's own status after its Ctrl-C
        assert _alive(started) == []
    finally:
        _kill(started)


def test_process_group_without_supervisor_leaves_the_stubborn_child() -> None:
    """What the supervisor is for: the program alone stops, its child stays."""
    process, started = _start()
    try:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        time.sleep(0.5)
        assert [p.pid for p in _alive(started)] == [started[0].pid]
    finally:
        _kill(started)
