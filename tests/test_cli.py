"""The gridbot command: help, version, and the demo on a short slice of the bundled month."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from daemons.cli.main import app
from gridcore.version import GRIDCORE_VERSION

runner = CliRunner()


def test_cli_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "version" in result.output and "demo" in result.output


def test_cli_version_prints_both_versions() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert f"gridcore {GRIDCORE_VERSION}" in result.output


def test_cli_demo_short_slice_prints_summary() -> None:
    result = runner.invoke(app, ["demo", "--max-bars", "2000"])
    assert result.exit_code == 0, result.output
    assert "fills" in result.output and "realised PnL" in result.output
    assert "16,000" in result.output  # a trade and a ticker at 4 points of each bar


def test_cli_demo_bad_parameter_fails_naming_the_field() -> None:
    result = runner.invoke(app, ["demo", "--max-bars", "10", "--set", "grid_count=1"])
    assert result.exit_code != 0
    assert "grid_count" in result.output


def test_cli_demo_malformed_set_fails() -> None:
    result = runner.invoke(app, ["demo", "--set", "grid_count"])
    assert result.exit_code != 0
    assert "KEY=VALUE" in result.output


BAD_MAX_BARS = ("error: Invalid value for '--max-bars': Input should be a valid integer, unable"
                " to parse string as an integer (see `gridbot demo --help`)")


def test_cli_usage_error_is_one_error_line_with_exit_code_2() -> None:
    result = runner.invoke(app, ["demo", "--max-bars", "many"], prog_name="gridbot")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [BAD_MAX_BARS] and result.stdout == ""


def test_cli_usage_error_is_one_line_in_a_real_process_and_help_still_works() -> None:
    def gridbot(*args: str) -> subprocess.CompletedProcess[str]:
        script = "from daemons.cli.main import app; app(prog_name='gridbot')"
        return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=120)

    bad = gridbot("demo", "--max-bars", "many")
    assert (bad.returncode, bad.stderr.splitlines(), bad.stdout) == (2, [BAD_MAX_BARS], "")
    helped = gridbot("demo", "--help")
    assert helped.returncode == 0 and "--max-bars" in helped.stdout and helped.stderr == ""
    bare = gridbot("db")
    assert bare.returncode == 2 and "migrate" in bare.stdout + bare.stderr
