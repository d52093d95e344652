"""Maps tape time onto venue (wall-clock) time: shifted to now and sped up.

A trade stamped ``t`` on the tape is published at ``wall0 + (t - tape0) / speed``;
pausing shifts ``wall0`` forward by the pause so that the tape resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wall_ms() -> int:
    return int(time.time() * 1000)


class TapeClock:
    """Venue time is wall time; the tape is anchored to it at start and after pauses."""

    def __init__(self, speed: float, now: Callable[[], int] = wall_ms) -> None:
        self.speed = speed
        self.now = now
        self._tape0 = 0
        self._wall0 = now()
        self._paused_at: int | None = None

    def anchor(self, tape_ms: int) -> None:
        """Make tape time ``tape_ms`` happen now."""
        self._tape0, self._wall0 = tape_ms, self.now()

    def venue_ms(self, tape_ms: int) -> int:
        return int(self._wall0 + (tape_ms - self._tape0) / self.speed)

    def tape_ms(self, venue_ms: int) -> int:
        return int(self._tape0 + (venue_ms - self._wall0) * self.speed)

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self.now()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._wall0 += self.now() - self._paused_at
            self._paused_at = None
