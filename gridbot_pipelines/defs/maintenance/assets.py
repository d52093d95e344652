"""The event tables' monthly partitions, kept: future months exist, expired ones archived.

Monthly (``maintenance_job_schedule``): the partitions of this month and the next
``MONTHS_AHEAD`` are created (``daemons.db.maintenance.upkeep``, as ``gridbot db
migrate`` and the capture daemon do, rotated credentials past their grace purged with
them); months past each table's retention (``partition_policies``) are detached and,
where the policy says ``archive``, written to Parquet and dropped once the file's row
count equals the table's (``archive.py``); policies saying ``drop`` drop them. Rows that
DEFAULT partitions caught are reported. The detach takes a brief exclusive lock on each
parent table, which is why this runs off-peak, monthly.
"""

import dagster as dg

from daemons.db import maintenance, partitions
from daemons.db.settings import gridbot_home
from gridbot_pipelines.constants import MAINTENANCE
from gridbot_pipelines.defs.maintenance.archive import archived_tables, export_and_drop
from gridbot_pipelines.resources import DatabaseResource


@dg.asset(group_name=MAINTENANCE, kinds={"postgres", "parquet"})
def event_table_partitions(context: dg.AssetExecutionContext,
                           database: DatabaseResource) -> dg.MaterializeResult:
    """Monthly partitions of the event tables: created ahead, expired ones archived."""
    db = database.db
    with db.admin() as conn:
        report = maintenance.upkeep(conn)
        expired = partitions.expire_partitions(conn)
    maintenance.log_report(report)
    root = gridbot_home() / "archive"
    archived = []
    with database.admin_frames() as conn:
        waiting = archived_tables(conn)
    for name in waiting:  # one transaction each: a failure keeps the others' work
        with database.admin_frames() as conn:
            archived.append(export_and_drop(conn, name, root))
        context.log.info(f"archived {name}: {archived[-1].rows:,} rows to {archived[-1].path}")
    return dg.MaterializeResult(metadata={
        "created": [name for _, name in report.created],
        "expired": [f"{name} ({action})" for _, name, action in expired],
        "archived": dg.MetadataValue.json(
            {a.partition: {"rows": a.rows, "file": str(a.path)} for a in archived}),
        "archived_rows": sum(a.rows for a in archived),
        "default_partition_rows": dg.MetadataValue.json(
            {s.table_name: s.row_count for s in report.strays}),
        "purged_credentials": report.purged_credentials,
    })
