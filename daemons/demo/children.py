"""The demo's child processes: started in groups of their own, all stopped on the way out.

The demo starts a venue, a capture daemon, a trading daemon and Dagster processes; each
child runs in a session (process group) of its own, so stopping it reaches everything it
started. :meth:`Children.stop_all` sends each group SIGTERM (the daemons' clean stop),
waits, and SIGKILLs what is left: a demo interrupted at any moment leaves nothing running.
Children get the environment the demo built (without secrets, see ``demo.home``) and
write their output to log files (nothing fills a pipe); a child whose output the demo
reads (the venue's address, Dagster's step events) is followed line by line, each line
copied to its log.
"""

from __future__ import annotations

import logging
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from daemons.process_group import end_group, signal_group

log = logging.getLogger(__name__)

#: The gridbot command line of a child (the installed entry point may not be on PATH).
GRIDBOT = [sys.executable, "-c", "from daemons.cli.main import app; app()"]


class ChildFailed(RuntimeError):
    """A child exited with an error, or did not say what the demo waited for."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]
    log_path: Path

    def follow(self, timeout_s: float) -> Iterator[str]:
        """The child's output lines (copied to its log) until it exits or ``timeout_s``."""
        stream = self.process.stdout
        if stream is None:
            raise ValueError(f"{self.name}: started without a readable output")
        deadline = time.monotonic() + timeout_s
        with self.log_path.open("a") as copy:
            while (remaining := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([stream], [], [], min(remaining, 1.0))
                if not ready:
                    if self.process.poll() is not None:
                        return
                    continue
                line = stream.readline()
                if not line:
                    return
                copy.write(line)
                copy.flush()
                yield line.rstrip("\n")
        raise ChildFailed(f"{self.name} did not finish in {timeout_s:.0f} s; "
                          f"see {self.log_path}")


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then arrive as usual.

    Between a child's start and its place on the list :meth:`Children.stop_all` reads, an
    interrupt would leave that child running (seen: the trading daemon, started right as a
    test sent Ctrl-C, outlived the demo and started its embedded server again). Python
    handlers, not a signal mask: a child inherits the mask, not the handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    kept = {sig: signal.signal(sig, lambda sig, _frame: arrived.append(sig))
            for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(arrived):
            signal.raise_signal(sig)


class Children:
    """Every process the demo started; :meth:`stop_all` stops them all."""

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.env = dict(env)
        self.children: list[Child] = []

    def _log_path(self, name: str) -> Path:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / f"{name}.log"

    def start(self, name: str, args: list[str], *, readable: bool = False,
              program: list[str] | None = None) -> Child:
        """Start ``gridbot args`` (or ``program args``) in a process group of its own.

        ``readable``: its output (stdout and stderr) is read with :meth:`Child.follow`;
        otherwise both go to its log file.
        """
        log_path = self._log_path(name)
        with _interrupts_deferred(), log_path.open("a") as out:
            process = subprocess.Popen(
                [*(program or GRIDBOT), *args], env=self.env, start_new_session=True,
                stdout=subprocess.PIPE if readable else out, stderr=subprocess.STDOUT,
                text=True)
            child = Child(name, process, log_path)
            self.children.append(child)
        return child

    def run(self, name: str, args: list[str], *, stdin: str | None = None,
            timeout_s: float = 600.0) -> str:
        """Run ``gridbot args`` to completion; its stdout (its stderr goes to its log).

        Raises :class:`ChildFailed` naming the log when it exits with an error.
        """
        log_path = self._log_path(name)
        with log_path.open("a") as err:
            try:
                done = subprocess.run([*GRIDBOT, *args], env=self.env, input=stdin,
                                      stdout=subprocess.PIPE, stderr=err, text=True,
                                      timeout=timeout_s, start_new_session=True)
            except subprocess.TimeoutExpired:
                raise ChildFailed(f"`gridbot {' '.join(args[:2])}` did not finish in "
                                  f"{timeout_s:.0f} s; see {log_path}") from None
        if done.returncode != 0:
            raise ChildFailed(f"`gridbot {' '.join(args[:2])}` failed "
                              f"(exit {done.returncode}); see {log_path}")
        return done.stdout

    def stop(self, child: Child, grace_s: float = 60.0) -> int | None:
        """SIGTERM the child's group, wait up to ``grace_s``, then SIGKILL the group."""
        signal_group(child.process.pid, signal.SIGTERM)
        try:
            return child.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s: killed", child.name, grace_s)
            signal_group(child.process.pid, signal.SIGKILL)
            return child.process.wait(10)
        finally:
            end_group(child.process.pid)
            if child.process.stdout is not None:
                child.process.stdout.close()
            if child in self.children:
                self.children.remove(child)

    def stop_all(self) -> None:
        """Stop every child still running, newest first."""
        for child in reversed(list(self.children)):
            self.stop(child, grace_s=30.0)
