"""`gridbot venue`: documented options, clear refusals, serving until SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from typer.testing import CliRunner

from daemons.cli.main import app

OPTIONS = ("--accounts", "--host", "--port", "--tape", "--seed", "--speed", "--funding-rate",
           "--funding-interval-s", "--cross-policy", "--latency-ms", "--depth-median-qty",
           "--start-paused", "--fault")


def _accounts(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps([{"name": "a", "api_key": "k1", "api_secret": "s3cr3t-value",
                                 "usdt": "5000"}]))
    return path


def test_venue_help_documents_every_option() -> None:
    result = CliRunner().invoke(app, ["venue", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in OPTIONS:
        assert option in result.output


def test_venue_bad_options_fail_with_clear_message(tmp_path: Path) -> None:
    runner = CliRunner()
    accounts = str(_accounts(tmp_path))
    bad_policy = runner.invoke(app, ["venue", "--accounts", accounts, "--cross-policy", "x"])
    assert bad_policy.exit_code == 2 and "cross_policy" in bad_policy.output
    bad_tape = runner.invoke(app, ["venue", "--accounts", accounts, "--tape", "/no/such.csv"])
    assert bad_tape.exit_code == 2 and "tape" in bad_tape.output
    bad_fault = runner.invoke(app, ["venue", "--accounts", accounts, "--fault", "meteor=3"])
    assert bad_fault.exit_code == 2 and "unknown fault" in bad_fault.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("- api_key: k\n")
    no_secret = runner.invoke(app, ["venue", "--accounts", str(broken)])
    assert no_secret.exit_code == 2 and "api_secret" in no_secret.output


def test_venue_serves_until_sigterm_and_never_prints_secrets(tmp_path: Path) -> None:
    args = ["venue", "--accounts", str(_accounts(tmp_path)), "--port", "0", "--speed", "10"]
    script = "from daemons.cli.main import app; app()"
    proc = subprocess.Popen([sys.executable, "-c", script, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "venue admin" in line:
                break
        base = lines[0].split()[-1]
        answer = requests.get(f"{base}/v5/market/time", timeout=5).json()
        assert answer["retCode"] == 0
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "s3cr3t-value" not in "".join(lines) + rest
