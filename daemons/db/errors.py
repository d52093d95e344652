"""Errors the data layer raises for problems an operator can fix.

Their message is one line that names what is wrong and never contains a secret; the CLI
prints it as is and exits non-zero (``daemons/cli/support.py``).
"""

from __future__ import annotations


class DataLayerError(Exception):
    """Base class: bad input or state, explained in one line."""


class NotFound(DataLayerError):
    """A named user, account, credential or strategy does not exist."""


class AlreadyExists(DataLayerError):
    """A unique name or key is taken."""


class InvalidInput(DataLayerError):
    """A value is malformed or not allowed."""


class NotMigrated(DataLayerError):
    """The schema is missing or behind: run ``gridbot db migrate``."""


class MigrationError(DataLayerError):
    """Migrations cannot be applied as they are (edited, missing or out of order)."""


class InsecureConnection(DataLayerError):
    """The application connection could bypass row-level security."""
