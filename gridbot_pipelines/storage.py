"""Dagster's storage class for gridbot: runs, event logs and schedules in PostgreSQL.

``dagster.yaml`` names it instead of a ``postgres_url``, because the URL is not a
constant: the embedded server's socket lives under ``GRIDBOT_HOME``, and an external
server is ``DATABASE_URL``'s. :func:`daemons.dagster_env.storage_url` finds it in every
Dagster process (webserver, daemon, code servers, run and step workers), so a plain
``dagster dev`` stores its runs where ``gridbot dagster`` does.
"""

from __future__ import annotations

from typing import Any

from dagster_postgres import DagsterPostgresStorage

from daemons.dagster_env import storage_url


class GridbotStorage(DagsterPostgresStorage):
    """:class:`DagsterPostgresStorage` on the ``dagster`` database of gridbot's server."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> GridbotStorage:
        return cls(storage_url(), inst_data=inst_data)
