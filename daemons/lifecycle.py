"""The lifetime every long-running daemon shares: run until told to stop, re-read on SIGHUP.

A daemon (capture, trading) starts its threads in ``start``, stops them in ``stop`` and
re-reads what it serves in ``refresh``; this base runs it until an event is set (by the
signal handlers) or a duration is up, and turns SIGHUP into a refresh. The duration is a
timeout of that wait, not a timer thread: a signal ends the process at once, with nothing
left behind to keep it alive.
"""

from __future__ import annotations

import threading


class RunUntilStopped:
    """``run`` and ``request_refresh`` on top of a daemon's ``start`` and ``stop``."""

    _refresh_now: threading.Event

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def run(self, stop: threading.Event, duration_s: float | None = None) -> None:
        """Start, wait for ``stop`` or ``duration_s``, stop (whatever happened)."""
        self.start()
        try:
            stop.wait(duration_s)
        finally:
            self.stop()

    def request_refresh(self) -> None:
        """Read the targets again now (SIGHUP); safe from a signal handler."""
        self._refresh_now.set()
