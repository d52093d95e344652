"""The Dagster code location loads, validates, and its asset materialises for real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

from gridbot_pipelines.definitions import defs
from gridbot_pipelines.defs.backtests.assets import bundled_month_replay
from gridbot_pipelines.partitions import LIVE_RUNS

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_cli_passes(tmp_path: Path) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"DAGSTER_HOME": str(tmp_path), "PATH": str(dagster.parent)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful for code location gridbot" in done.stdout + done.stderr


def test_definitions_resolve_every_asset_in_its_group() -> None:
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name
              for key in graph.get_all_asset_keys()}
    assert groups == {
        "bundled_month_replay": "backtests", "strategy_backtests": "backtests",
        "daily_backtests": "backtests", "captured_market_data": "market_data",
        "reconciled_account_data": "accounts", "event_table_partitions": "maintenance",
        "live_run_comparison": "validation", "daily_comparisons": "validation",
        "queue_calibrations": "validation", "nightly_validation_report": "validation"}


def test_definitions_jobs_schedules_and_sensors_resolve() -> None:
    nightly = defs.resolve_job_def("validation_job")
    assert {key.to_user_string() for key in nightly.asset_layer.executable_asset_keys} == {
        "captured_market_data", "reconciled_account_data", "daily_backtests",
        "daily_comparisons", "queue_calibrations", "nightly_validation_report"}
    assert {key.name for key in nightly.asset_layer.asset_graph.asset_check_keys} == {
        "trades_valid", "tickers_in_order", "funding_rates_sane", "capture_gaps_short",
        "receipt_times_plausible", "executions_valid"}
    assert defs.resolve_job_def("backtests_job").partitions_def is not None
    assert defs.resolve_job_def("maintenance_job").partitions_def is None
    assert defs.resolve_job_def("live_run_comparison_job").partitions_def == LIVE_RUNS
    repository = defs.get_repository_def()
    assert {s.name: s.job_name for s in repository.schedule_defs} == {
        "validation_job_schedule": "validation_job",
        "maintenance_job_schedule": "maintenance_job"}
    assert {s.name for s in repository.sensor_defs} == {
        "live_run_sensor", "ended_run_sensor", "strategy_sensor", "run_failure_alert_sensor"}
    assert repository.get_sensor_def("ended_run_sensor").job_name == "live_run_comparison_job"


def test_bundled_month_replay_materialises_with_summary_metadata() -> None:
    result = dg.materialize(
        [bundled_month_replay],
        run_config={"ops": {"bundled_month_replay": {"config": {"max_bars": 3_000}}}},
    )
    assert result.success
    (materialisation,) = result.asset_materializations_for_node("bundled_month_replay")
    meta = {key: value.value for key, value in materialisation.metadata.items()}
    assert meta["events"] == 24_000  # a trade and a ticker at 4 points of each bar
    assert meta["fills"] > 0
    assert meta["config"]["grid_count"] == 20
    assert isinstance(meta["realised_pnl"], float)


_REDACTION_PROBE = """
import io, logging, sys
import gridbot_pipelines.definitions  # what Dagster's code server imports, and nothing else
from daemons.secrets import redaction

secret = sys.stdin.readline().strip()
redaction.register_secret(secret)
out = io.StringIO()
handler = logging.StreamHandler(out)
logging.getLogger("dagster.probe").addHandler(handler)
logging.getLogger("dagster.probe").warning("credential %s api_key=%s", secret, "k" * 12)
text = out.getvalue()
print(redaction._installed, secret in text, "k" * 12 in text, text.count("***"))
"""


def test_definitions_install_log_redaction_in_dagsters_process() -> None:
    """A fresh interpreter that only imports the code location redacts every log record."""
    from tests.fixtures.secrets import make_secret_text

    done = subprocess.run([sys.executable, "-c", _REDACTION_PROBE], cwd=ROOT,
                          input=make_secret_text() + "\n", capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "False", "False", "2"]
