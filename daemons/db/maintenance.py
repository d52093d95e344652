"""Routine upkeep that must happen on schedule, not only when an operator remembers it.

Partitions are kept ``MONTHS_AHEAD`` months ahead (otherwise, months after the migration
created the first ones, every event lands in a DEFAULT partition, and adopting those rows
later locks out writers), and rotated API credentials are deleted once their grace period
is over (otherwise an old secret stays decryptable for as long as the account is never
rotated again). :func:`upkeep` does both and reports rows caught by DEFAULT partitions. It
is idempotent and runs as the owner (``with db.admin() as conn``). ``gridbot db migrate``
and the capture daemon's start (:meth:`daemons.db.session.Database.upkeep`) run it;
``gridbot db partitions`` and ``gridbot credentials purge`` run its parts from cron.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import psycopg

from daemons.db import credentials, partitions

log = logging.getLogger(__name__)

#: How many months after the current one must already have their partitions.
MONTHS_AHEAD = 3


@dataclass(frozen=True, slots=True)
class UpkeepReport:
    """What :func:`upkeep` did and what needs an operator's attention."""

    created: list[tuple[str, str]]
    purged_credentials: int
    strays: list[partitions.StrayReport]


def upkeep(conn: psycopg.Connection, months_ahead: int = MONTHS_AHEAD,
           now: datetime | None = None) -> UpkeepReport:
    """Create missing partitions up to ``months_ahead``, purge expired rotated credentials."""
    return UpkeepReport(
        created=partitions.ensure_partitions(conn, months_ahead=months_ahead, now=now),
        purged_credentials=credentials.purge_rotated(conn, now=now),
        strays=partitions.default_partition_strays(conn),
    )


def stray_warning(stray: partitions.StrayReport) -> str:
    """One line naming a DEFAULT partition's rows (the CLI prints it, daemons log it)."""
    return (f"{stray.row_count} row(s) of {stray.table_name} in its DEFAULT partition"
            f" ({stray.oldest:%Y-%m} to {stray.newest:%Y-%m}): adopt them with"
            " `SELECT * FROM gridbot_adopt_strays()` (docs/runbook-db.md)")


def log_report(report: UpkeepReport) -> None:
    """Log what upkeep changed (INFO) and the strays (WARNING), nothing when all was well."""
    for _table, name in report.created:
        log.info("created partition %s", name)
    if report.purged_credentials:
        log.info("purged %d rotated credential(s) past their grace period",
                 report.purged_credentials)
    for stray in report.strays:
        log.warning("%s", stray_warning(stray))
