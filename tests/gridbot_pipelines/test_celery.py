"""The same definitions on Celery: the nightly backtest steps on two worker processes.

Redis (Debian's ``redis-server``, installed if missing) runs on a free loopback port;
two ``dagster-celery worker`` processes (one execution slot each) take the steps of a
``dagster asset materialize`` of ``daily_backtests`` run with
``GRIDBOT_DAGSTER_EXECUTOR=celery``, the same command and definitions an operator uses.
Both workers must have run replay steps, and the replays must equal the in-process run's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest

from daemons.db.session import Database
from gridbot_pipelines.defs.backtests.assets import daily_backtests
from gridbot_pipelines.resources import DatabaseResource
from tests.fixtures.debian import ensure_program
from tests.fixtures.ports import free_port, listening
from tests.fixtures.waiting import wait_until
from tests.gridbot_pipelines.data import add_strategy, store_market_day

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-08-03"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
BIN = Path(sys.executable).parent


def _stop(processes: list[subprocess.Popen]) -> None:
    """Each process and everything it started (the CLI execs celery in a child)."""
    for process in processes:
        try:
            tree = [psutil.Process(process.pid),
                    *psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in tree:
            try:
                member.kill()
            except psutil.NoSuchProcess:
                pass
        process.wait()


@pytest.fixture(scope="module")
def celery_env(pipeline_db: Database) -> Iterator[dict[str, str]]:
    """Redis, two workers, and the environment that sends a run's steps to them."""
    redis = ensure_program("redis-server")
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="gridbot-celery-"))
    (home / "dagster").mkdir()
    broker = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "DAGSTER_HOME": str(home / "dagster"),
           "GRIDBOT_DAGSTER_EXECUTOR": "celery", "GRIDBOT_CELERY_BROKER": broker,
           "GRIDBOT_CELERY_BACKEND": f"redis://127.0.0.1:{port}/1",
           "PYTHONPATH": str(ROOT), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (home / "celery.yaml").write_text(  # the executor's config block, as workers read it
        f"execution:\n  config:\n    broker: {broker}\n"
        f"    backend: {env['GRIDBOT_CELERY_BACKEND']}\n")
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]):
        pass  # its storage created once, before two workers race to create it
    processes = [subprocess.Popen(
        [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(home)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_until(lambda: listening(port), 30, f"redis on port {port}")
        for name in ("w1", "w2"):
            log = open(home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append(subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                 "-y", str(home / "celery.yaml"), "-n", name, "--", "--pool=solo"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        _wait_workers(home)
        yield env
    finally:
        _stop(processes[::-1])
        shutil.rmtree(home, ignore_errors=True)


def _wait_workers(home: Path) -> None:
    logs = [home / f"{name}.log" for name in ("w1", "w2")]
    wait_until(lambda: all("ready." in log.read_text(errors="replace") for log in logs),
               120, "two celery workers ready")


def _digests(instance: dg.DagsterInstance) -> dict[str, str]:
    event = instance.get_latest_materialization_event(daily_backtests.key)
    return event.asset_materialization.metadata["digests"].value


def test_celery_workers_run_the_nightly_backtest_steps_as_the_in_process_run(
        pipeline_db: Database, celery_env: dict[str, str]) -> None:
    for n, symbol in enumerate(SYMBOLS):
        store_market_day(pipeline_db, symbol, DAY, trades=20_000, seed=20 + n)
        for user in ("ann", "bob", "cyd"):
            add_strategy(pipeline_db, f"{user}-{symbol.lower()}", symbol)
    with dg.instance_for_test() as instance:
        local = dg.materialize([daily_backtests], partition_key=DAY, instance=instance,
                               resources={"database": DatabaseResource()},
                               selection=[daily_backtests.key])
        assert local.success
        in_process = _digests(instance)
    assert len(in_process) == len(SYMBOLS) * 3 * 2

    done = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "gridbot_pipelines.definitions",
         "-a", "defs", "--select", "daily_backtests", "--partition", DAY],
        cwd=ROOT, env=celery_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    with dg.DagsterInstance.from_config(celery_env["DAGSTER_HOME"]) as instance:
        assert _digests(instance) == in_process
        (run,) = instance.get_runs()
        assert run.tags.get("dagster/partition") == DAY
        steps = [entry for entry in instance.all_logs(run.run_id)
                 if entry.dagster_event is not None
                 and entry.dagster_event.event_type_value == "STEP_SUCCESS"
                 and entry.dagster_event.step_key.startswith("daily_backtests.replay_symbol")]
    assert len(steps) == len(SYMBOLS)
    workers = {p.pid for p in psutil.process_iter(["cmdline"])
               if "celery" in " ".join(p.info["cmdline"] or []) and "worker" in " ".join(
                   p.info["cmdline"] or [])}
    executed_by = {entry.dagster_event.pid for entry in steps}
    assert executed_by <= workers and len(executed_by) == 2, (executed_by, workers)
