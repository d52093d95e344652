"""Repository rules: the lock, CI, the console script and the benchmark output format.

README promises them (Dependencies, the `make test` line, `gridbot`, `make bench`); nothing
else would notice if one of them quietly stopped being true.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Lines of .ci/run that only prepare the shell, not commands CI runs.
CI_PREAMBLE = {"set -euo pipefail", 'cd "$(dirname "$0")/.."'}


def test_lock_records_no_download_addresses() -> None:
    """README: requirements.lock "records no download addresses"; it pins with hashes."""
    lock = (ROOT / "requirements.lock").read_text()
    assert "://" not in lock
    assert "--hash=sha256:" in lock and "\nnumpy==" in lock


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout")
def test_uv_lock_is_git_ignored_and_not_tracked() -> None:
    """README: "uv.lock is deliberately not used"."""
    ignored = subprocess.run(["git", "check-ignore", "-q", "uv.lock"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "uv.lock is not git-ignored"
    tracked = subprocess.run(["git", "ls-files", "--", "uv.lock"], cwd=ROOT, check=True,
                             capture_output=True, text=True)
    assert tracked.stdout == ""


def _readme_test_command() -> str:
    """The test command of README's first code block (``make test  # ...``)."""
    block = (ROOT / "README.md").read_text().split("```")[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    tests = [command for command in commands if command.split()[-1:] == ["test"]]
    assert len(tests) == 1, block
    return tests[0]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    assert _readme_test_command() == "make test"
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK), ".ci/run is not executable"
    lines = [line.strip() for line in ci.read_text().splitlines()]
    commands = [line for line in lines
                if line and not line.startswith("#") and line not in CI_PREAMBLE]
    assert commands == [_readme_test_command()]


def test_gridbot_script_resolves_to_a_callable() -> None:
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["gridbot"]
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    installed = entry_points(group="console_scripts").select(name="gridbot")
    assert [ep.value for ep in installed] == [target], "the installed script is stale"


def test_bench_rows_carry_bench_value_and_unit(monkeypatch, capsys) -> None:
    """`make bench` prints one JSON object per line with bench, value and unit.

    Runs the engine benchmark through the real entry point on a few thousand events.
    """
    from benchmarks import __main__ as bench_main
    from benchmarks import bench_engine

    monkeypatch.setattr(bench_engine, "EVENTS", 2_000)
    monkeypatch.setattr(bench_engine, "BASELINE_EVENTS", 500)
    assert bench_main.main(["benchmarks", "bench_engine"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["bench"] for row in rows] == ["engine_ticker_events_per_s",
                                              "engine_ticker_events_per_s_baseline"]
    for row in rows:
        assert {"bench", "value", "unit"} <= row.keys(), row
        assert isinstance(row["value"], int | float) and row["value"] > 0, row
        assert row["unit"] == "events/s" and row["events"] == 2_000, row
