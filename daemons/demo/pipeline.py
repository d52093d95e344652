"""The demo's Dagster stage: ``dagster job execute`` of the nightly validation of a day.

The run is stored in the Dagster instance ``gridbot dagster`` serves (PostgreSQL storage on
the demo's server), so ``gridbot demo --ui`` opens on a UI where it is already
materialised. Dagster prints every step's events; the demo follows them to show which
step runs and how many are done. The night's backtests replay every fill model (the
schedule's default is two): the demo shows them all.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from daemons.demo.children import ChildFailed, Children
from gridcore.sim.models import FillModelName

JOB = "validation_job"
#: Run configuration: the daily backtests with every fill model.
RUN_CONFIG = {"ops": {"daily_backtests": {"ops": {"replay_symbol": {"config": {
    "fill_models": [m.value.lower() for m in FillModelName]}}}}}}
#: ``... - <step key> - STEP_SUCCESS - ...`` in Dagster's event log lines.
_STEP_EVENT = re.compile(r" - ([\w.\[\]-]+) - (STEP_START|STEP_SUCCESS|STEP_FAILURE) - ")
_RUN_FAILED = re.compile(r" - (RUN_FAILURE|PIPELINE_FAILURE) - ")
TIMEOUT_S = 1800.0


def run_validation_job(children: Children, day: str,
                       on_step: Callable[[float, str], None]) -> None:
    """Execute ``validation_job`` for ``day``; ``on_step(done, detail)`` as steps finish.

    Raises :class:`ChildFailed` naming the failed steps and the log when the run fails.
    """
    config_path = Path(children.env["DAGSTER_HOME"]) / "demo-run-config.yaml"
    config_path.write_text(yaml.safe_dump(RUN_CONFIG))
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    child = children.start(
        f"dagster-{day}", ["job", "execute", "-m", "gridbot_pipelines.definitions", "-a", "defs",
                           "-j", JOB,
                           "-c", str(config_path), "--tags",
                           json.dumps({"dagster/partition": day})],
        readable=True, program=[dagster])
    done: list[str] = []
    failed: list[str] = []
    for line in child.follow(TIMEOUT_S):
        if match := _STEP_EVENT.search(line):
            step, event = match.groups()
            if event == "STEP_START":
                on_step(len(done), f"running {step}")
            elif event == "STEP_SUCCESS":
                done.append(step)
                on_step(len(done), f"{len(done)} steps done, last {step}")
            else:
                failed.append(step)
        elif _RUN_FAILED.search(line):
            failed.append("the run")
    code = child.process.wait(60)
    children.stop(child)
    if code != 0 or failed:
        raise ChildFailed(f"{JOB} for {day} failed ({', '.join(failed) or f'exit {code}'}); "
                          f"see {child.log_path}")
