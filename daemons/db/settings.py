"""Where the database is: an external server named by ``DATABASE_URL``, or the embedded one.

Every entry point resolves its database through :func:`load_settings`, so the CLI, the
daemons and the Dagster code agree. With ``DATABASE_URL`` unset, gridbot runs one embedded
PostgreSQL under ``GRIDBOT_HOME`` (default: the platform's per-user data directory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Role the application connects as: no superuser, no BYPASSRLS, not the tables' owner.
APP_ROLE = "gridbot_app"
#: Database the embedded server holds the project's tables in.
EMBEDDED_DATABASE = "gridbot"


def gridbot_home() -> Path:
    """Return the per-user state directory (``GRIDBOT_HOME`` or the platform data dir)."""
    override = os.environ.get("GRIDBOT_HOME")
    if override:
        return Path(override).expanduser().resolve()
    import platformdirs

    return platformdirs.user_data_path("gridbot", appauthor=False)


@dataclass(frozen=True, slots=True)
class DbSettings:
    """Resolved connection settings.

    Parameters
    ----------
    home:
        ``GRIDBOT_HOME``: embedded server data, lock and state files, the master key file.
    database_url:
        ``DATABASE_URL`` (owner/admin connection) when an external server is used.
    app_database_url:
        ``GRIDBOT_APP_DATABASE_URL``: how the application role logs in to an external
        server. Unset: the data layer connects with ``database_url`` and switches to the
        application role with ``SET LOCAL ROLE`` for every unit of work.
    """

    home: Path
    database_url: str | None
    app_database_url: str | None

    @property
    def embedded(self) -> bool:
        """True when gridbot manages its own server (no ``DATABASE_URL``)."""
        return self.database_url is None

    def __repr__(self) -> str:  # URLs may carry passwords: never print them
        mode = "embedded" if self.embedded else "external"
        return f"DbSettings(home={str(self.home)!r}, mode={mode!r})"


def load_settings() -> DbSettings:
    """Read the environment once; call again after changing it (tests do)."""
    return DbSettings(
        home=gridbot_home(),
        database_url=os.environ.get("DATABASE_URL") or None,
        app_database_url=os.environ.get("GRIDBOT_APP_DATABASE_URL") or None,
    )
