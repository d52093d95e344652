"""What the capture daemon is doing, per stream: a snapshot, a status file, a table.

The daemon rewrites ``$GRIDBOT_HOME/capture/status.json`` (atomically) every second;
``gridbot capture status`` reads it, so an operator needs no port and no credentials to
look. Per stream: last event time (exchange and local), events per second over the last
interval, reconnects of its connection, gaps detected and gaps still open (recorded
unfilled), and rows of its table waiting in the writer. The file names the process that
wrote it (pid and start time, since pids are reused): if that process is gone the daemon
is shown as stopped, whatever the file's age; a live one whose file is older than a few
seconds is stuck.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from daemons.status_file import process_started, state


@dataclass
class StreamCounters:
    """One stream's counters (a stream is a topic on a connection)."""

    connection: str
    table: str
    events: int = 0
    last_exchange_ms: int = 0
    last_local_ms: int = 0
    gaps: int = 0
    gaps_open: int = 0
    quarantined: int = 0
    other_category: int = 0
    rate_events: int = 0
    rate_at: float = 0.0
    events_per_s: float = 0.0


class StatusBoard:
    """Thread-safe counters fed by the stream handlers and the reconciler."""

    def __init__(self) -> None:
        self.streams: dict[str, StreamCounters] = {}
        self._lock = threading.Lock()
        self.started_ms = time.time_ns() // 1_000_000
        self.process_started = process_started(os.getpid())

    def register(self, name: str, connection: str, table: str) -> None:
        with self._lock:
            self.streams.setdefault(name, StreamCounters(connection, table,
                                                         rate_at=time.monotonic()))

    def unregister(self, connection: str) -> None:
        """Forget every stream of ``connection`` (an account that is no longer captured)."""
        with self._lock:
            for name in [n for n, s in self.streams.items() if s.connection == connection]:
                del self.streams[name]

    # A message already in flight when its account was unregistered finds no counters:
    # it is still stored, just no longer counted.

    def events(self, name: str, count: int, exchange_ms: int, local_ms: int) -> None:
        with self._lock:
            s = self.streams.get(name)
            if s is not None:
                s.events += count
                s.last_exchange_ms = max(s.last_exchange_ms, exchange_ms)
                s.last_local_ms = local_ms

    def quarantined(self, name: str) -> None:
        with self._lock:
            s = self.streams.get(name)
            if s is not None:
                s.quarantined += 1

    def other_category(self, name: str) -> None:
        """An item of another market (spot, option, inverse) dropped from ``name``."""
        with self._lock:
            s = self.streams.get(name)
            if s is not None:
                s.other_category += 1

    def gap(self, name: str, filled: bool) -> None:
        with self._lock:
            s = self.streams.get(name)
            if s is not None:
                s.gaps += 1
                s.gaps_open += 0 if filled else 1

    def snapshot(self, connections: dict[str, dict[str, Any]], writer: dict[str, Any],
                 backlog: dict[str, int]) -> dict[str, Any]:
        """Everything ``gridbot capture status`` shows, as JSON-ready data."""
        now = time.monotonic()
        rows = []
        with self._lock:
            for name, s in sorted(self.streams.items()):
                elapsed = now - s.rate_at
                if elapsed >= 0.5:
                    s.events_per_s = (s.events - s.rate_events) / elapsed
                    s.rate_events, s.rate_at = s.events, now
                conn = connections.get(s.connection, {})
                rows.append({
                    "stream": name, "events": s.events,
                    "events_per_s": round(s.events_per_s, 1),
                    "last_exchange_ms": s.last_exchange_ms, "last_local_ms": s.last_local_ms,
                    "reconnects": conn.get("reconnects", 0),
                    "connected": conn.get("connected", False), "gaps": s.gaps,
                    "gaps_open": s.gaps_open, "quarantined": s.quarantined,
                    "other_category": s.other_category,
                    "buffered_rows": backlog.get(s.table, 0)})
        return {"pid": os.getpid(), "process_started": self.process_started,
                "updated_ms": time.time_ns() // 1_000_000,
                "started_ms": self.started_ms, "streams": rows, "writer": writer}


def _clock(ms: int) -> str:
    if not ms:
        return "-"
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}"


def render(snapshot: dict[str, Any], now_ms: int | None = None) -> str:
    """The status as a table for people."""
    writer = snapshot["writer"]
    lines = [
        f"capture daemon pid {snapshot['pid']}: {state(snapshot, now_ms)}",
        f"database {'up' if writer['db_up'] else 'DOWN'}; buffered {writer['buffered_rows']}"
        f" rows, spilled {writer['spilled_rows']}, replayed {writer['replayed_rows']},"
        f" spill files {writer['spill_files']}, commit lag p99 {writer['lag_p99_ms']} ms",
        f"{'stream':<34} {'last event (UTC)':>16} {'ev/s':>8} {'events':>9} {'reconn':>6}"
        f" {'gaps':>5} {'open':>5} {'buffered':>9}",
    ]
    for s in snapshot["streams"]:
        lines.append(
            f"{s['stream']:<34} {_clock(s['last_exchange_ms']):>16} {s['events_per_s']:>8}"
            f" {s['events']:>9} {s['reconnects']:>6} {s['gaps']:>5} {s['gaps_open']:>5}"
            f" {s['buffered_rows']:>9}")
    for refused in snapshot.get("refused", []):
        lines.append(f"not captured: {refused['account']}: {refused['reason']}")
    return "\n".join(lines)
