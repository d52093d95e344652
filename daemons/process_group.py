"""Run a program in a process group of its own, and take the whole group down with it.

``python -m daemons.process_group PROGRAM [ARGS...]`` is what ``gridbot dagster`` becomes:
``dagster dev`` starts a webserver, a daemon and code servers, and stops them only on
Ctrl-C (a SIGINT to the terminal's whole foreground group). A SIGTERM, what service
managers and ``kill`` send, ends ``dagster dev`` alone and leaves its children running.
So the program runs in a new session (its own process group), and this process
forwards SIGTERM, SIGINT and SIGHUP to that group as the SIGINT of a Ctrl-C, waits for
the program to exit (``GRACE_S``), then ends whatever of the group is still alive
(SIGTERM, then SIGKILL), and exits with the program's status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

#: How long the program may take to stop its children after the Ctrl-C.
GRACE_S = 30.0
#: How long stragglers get between SIGTERM and SIGKILL.
KILL_AFTER_S = 5.0


def supervise(argv: list[str], grace_s: float = GRACE_S) -> int:
    """Run ``argv`` in its own group until it exits or this process is told to stop."""
    child = subprocess.Popen(argv, start_new_session=True)
    group = child.pid
    stopping: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stopping.append(signum)
        signal_group(group, signal.SIGINT)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    deadline: float | None = None
    while True:
        try:
            code = child.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if stopping and deadline is None:
                deadline = time.monotonic() + grace_s
            if deadline is not None and time.monotonic() > deadline:
                child.kill()  # it ignored the Ctrl-C
    end_group(group)
    return code if not stopping or code >= 0 else 128 + stopping[0]


def signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to the group; False once no process of it is left."""
    try:
        os.killpg(group, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def end_group(group: int) -> None:
    """SIGTERM whatever of the group outlived its leader, SIGKILL what ignores that."""
    if not signal_group(group, signal.SIGTERM):
        return
    deadline = time.monotonic() + KILL_AFTER_S
    while time.monotonic() < deadline:
        if not signal_group(group, 0):
            return
        time.sleep(0.05)
    signal_group(group, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(supervise(sys.argv[1:]))
