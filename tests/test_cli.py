"""The gridbot command: help, version, and the demo on a short slice of the bundled month."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

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


#: Every row of the demo's summary: label -> the replay summary's key it shows.
DEMO_ROWS = {
    "market events": "events", "fills": "fills", "buys": "buy_fills", "sells": "sell_fills",
    "orders placed": "orders_placed", "cancels": "cancels",
    "realised PnL (USDT)": "realised_pnl", "fees (USDT)": "fees",
    "unrealised PnL (USDT)": "unrealised_pnl", "final equity (USDT)": "final_equity",
    "long position (BTC)": "long_size", "long avg entry": "long_entry",
    "short position (BTC)": "short_size", "short avg entry": "short_entry",
    "last price": "last_price", "grid builds (first + rebuilds)": "grid_builds",
}


def _table_rows(output: str) -> list[tuple[str, str]]:
    """(label, value) of every table row; an indented label belongs to the row above."""
    rows: list[tuple[str, str]] = []
    for line in output.splitlines():
        cells = line.split("\u2502")  # the table's vertical rule
        if len(cells) != 4:
            continue
        label, value = cells[1].rstrip(), cells[2].strip()
        if label.startswith("   ") and label.strip() == "avg entry":
            label = f"{rows[-1][0].split()[0]} avg entry"
        rows.append((label.strip(), value))
    return rows


def test_cli_demo_short_slice_prints_every_summary_row() -> None:
    """Every row is printed, in order, with the replay's own value (4 decimals at most)."""
    from daemons.backtest.bundled import DEMO_CONFIG, run_bundled_replay

    result = runner.invoke(app, ["demo", "--max-bars", "2000"])
    assert result.exit_code == 0, result.output
    rows = _table_rows(result.output)
    assert [label for label, _ in rows] == list(DEMO_ROWS)
    summary = run_bundled_replay(DEMO_CONFIG, max_bars=2000,
                                 starting_balance=Decimal("10000.0")).summary()
    for label, value in rows:
        expected = summary[DEMO_ROWS[label]]
        shown = value.replace(",", "")
        if isinstance(expected, int):
            assert int(shown) == expected, label
        else:
            assert Decimal(shown) == Decimal(expected).quantize(Decimal("0.0001")), label
    assert summary["events"] == 16_000  # a trade and a ticker at 4 points of each bar
    assert summary["fills"] > 0 and Decimal(summary["fees"]) > 0
    assert summary["grid_builds"] == 1, "the first build counts: no rebuild in this slice"


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
