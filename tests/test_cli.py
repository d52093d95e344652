"""The gridbot command: help, version, and one-line usage errors."""

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


BAD_MINUTES = ("error: Invalid value for '--minutes': Input should be a valid number, unable"
               " to parse string as a number (see `gridbot demo --help`)")


def test_cli_usage_error_is_one_error_line_with_exit_code_2() -> None:
    result = runner.invoke(app, ["demo", "--minutes", "many"], prog_name="gridbot")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [BAD_MINUTES] and result.stdout == ""


def test_cli_usage_error_is_one_line_in_a_real_process_and_help_still_works() -> None:
    def gridbot(*args: str) -> subprocess.CompletedProcess[str]:
        script = "from daemons.cli.main import app; app(prog_name='gridbot')"
        return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=120)

    bad = gridbot("demo", "--minutes", "many")
    assert (bad.returncode, bad.stderr.splitlines(), bad.stdout) == (2, [BAD_MINUTES], "")
    helped = gridbot("demo", "--help")
    assert helped.returncode == 0 and "--minutes" in helped.stdout and helped.stderr == ""
    bare = gridbot("db")
    assert bare.returncode == 2 and "migrate" in bare.stdout + bare.stderr
