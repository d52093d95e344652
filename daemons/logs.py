"""Logging set-up shared by every entry point (CLI commands, daemons, Dagster code)."""

from __future__ import annotations

import logging
import sys

from daemons.secrets import redaction

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(*, verbose: bool = False) -> None:
    """Install the project's handlers once; safe to call again (it only adjusts the level).

    Every record is redacted (``daemons.secrets.redaction``): known secret values and
    ``key=value`` secrets never reach a handler, whichever entry point logs them.
    """
    root = logging.getLogger()
    level = logging.DEBUG if verbose else logging.INFO
    if not any(getattr(h, "_gridbot", False) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._gridbot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    redaction.install()
    root.setLevel(level)
