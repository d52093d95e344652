"""`gridbot venue`: documented options, clear refusals, serving until SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from pybit.exceptions import FailedRequestError
from pybit.unified_trading import HTTP
from typer.testing import CliRunner

from daemons.cli.main import app

OPTIONS = ("--accounts", "--host", "--allow-remote", "--port", "--tape", "--seed", "--speed",
           "--funding-rate", "--funding-interval-s", "--cross-policy", "--latency-ms",
           "--depth-median-qty", "--start-paused", "--fault")


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


@pytest.mark.parametrize(("args", "names"), [
    (["--funding-rate", "abc"], ["--funding-rate", "not a number"]),
    (["--funding-rate", "nan"], ["--funding-rate", "0.005"]),
    (["--funding-rate", "-5"], ["--funding-rate", "0.005"]),
    (["--fault", "http_5xx=5,account=nobody"], ["--fault", "unknown account 'nobody'"]),
    (["--fault", "http_5xx=5,status=abc"], ["--fault", "status"]),
    (["--fault", "stall_public=5,mode=foo"], ["--fault", "mode"]),
    (["--fault", "ack_delay=5,mode=hold"], ["--fault", "unknown option 'mode'"]),
    (["--fault", "rate_limit=soon"], ["--fault", "seconds"]),
    (["--host", "0.0.0.0"], ["--host", "--allow-remote"]),
])
def test_venue_bad_option_values_are_refused_naming_the_option(
    tmp_path: Path, args: list[str], names: list[str],
) -> None:
    result = CliRunner().invoke(app, ["venue", "--accounts", str(_accounts(tmp_path)), *args],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2
    for name in names:
        assert name in result.output


def test_venue_remote_host_with_allow_remote_warns_about_admin(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is never local: the bind fails after the warning is printed
    result = CliRunner().invoke(app, ["venue", "--accounts", str(_accounts(tmp_path)),
                                      "--host", "192.0.2.1", "--allow-remote", "--port", "0"])
    assert "WARNING" in result.output and "/admin has NO authentication" in result.output
    assert result.exit_code == 2


def test_venue_fault_flag_is_active_from_the_start(tmp_path: Path) -> None:
    lines, proc = _start(tmp_path, "--fault", "http_5xx=30,status=502,account=k1")
    try:
        base = lines[0].split()[-1]
        assert requests.get(f"{base}/v5/market/time", timeout=5).status_code == 200
        session = HTTP(api_key="k1", api_secret="s3cr3t-value", max_retries=1)
        session.endpoint = base
        with pytest.raises(FailedRequestError) as err:  # the account given by its key
            session.get_wallet_balance(accountType="UNIFIED")
        assert err.value.status_code == 502
    finally:
        proc.kill()
        proc.communicate(timeout=20)


def _start(tmp_path: Path, *extra: str) -> tuple[list[str], subprocess.Popen[str]]:
    """``gridbot venue`` in a child process; returns its lines up to the admin URL."""
    args = ["venue", "--accounts", str(_accounts(tmp_path)), "--port", "0", "--speed", "10",
            *extra]
    script = "from daemons.cli.main import app; app()"
    proc = subprocess.Popen([sys.executable, "-c", script, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "venue admin" in line:
            break
    return lines, proc


def test_venue_serves_until_sigterm_and_never_prints_secrets(tmp_path: Path) -> None:
    lines, proc = _start(tmp_path)
    try:
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
