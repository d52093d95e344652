"""Schedules, named ``<job>_schedule``; both run as soon as the Dagster daemon does.

* ``validation_job_schedule``: every night at 00:30 UTC, the day that just ended (not
  today's partition, which exists already but is still being captured).
* ``maintenance_job_schedule``: at 03:00 UTC on the first of each month, off-peak, since
  detaching a partition locks its parent table briefly.
"""

from datetime import timedelta

import dagster as dg

from gridbot_pipelines.jobs import maintenance_job, validation_job


@dg.schedule(job=validation_job, cron_schedule="30 0 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def validation_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The UTC day before the tick's scheduled time."""
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=day, partition_key=day)


maintenance_job_schedule = dg.ScheduleDefinition(
    job=maintenance_job, cron_schedule="0 3 1 * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING)
