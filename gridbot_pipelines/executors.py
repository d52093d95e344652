"""Where steps run, chosen per deployment by ``GRIDBOT_DAGSTER_EXECUTOR`` (configuration,
not code; docs/pipelines.md, "Scaling out").

* ``multiprocess`` (default): a process per step on the machine running the run.
* ``celery``: steps become Celery tasks on the broker ``GRIDBOT_CELERY_BROKER``
  (results on ``GRIDBOT_CELERY_BACKEND``), run by ``dagster-celery worker`` processes
  on any machine that has the project installed and reaches the same database.
* ``k8s``: a Kubernetes job per step (``dagster-k8s``, installed on the cluster's image).
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "GRIDBOT_DAGSTER_EXECUTOR"
BROKER_ENV = "GRIDBOT_CELERY_BROKER"
BACKEND_ENV = "GRIDBOT_CELERY_BACKEND"
KINDS = ("multiprocess", "celery", "k8s")


def executor_from_environment() -> dg.ExecutorDefinition:
    """The executor ``GRIDBOT_DAGSTER_EXECUTOR`` names (see the module docstring)."""
    kind = os.environ.get(EXECUTOR_ENV) or "multiprocess"
    if kind == "multiprocess":
        return dg.multiprocess_executor
    if kind == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured({"broker": {"env": BROKER_ENV},
                                           "backend": {"env": BACKEND_ENV}})
    if kind == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError:
            raise ValueError(f"{EXECUTOR_ENV}=k8s needs the dagster-k8s package (pinned with "
                             "dagster) on the cluster's image") from None
        return k8s_job_executor
    raise ValueError(f"{EXECUTOR_ENV}={kind!r}: use one of {', '.join(KINDS)}")
