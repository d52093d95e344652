"""`gridbot demo` (filled in below)."""

from __future__ import annotations


def demo() -> None:
    """Replay the bundled price path through gridcore and print a summary."""
    raise NotImplementedError
