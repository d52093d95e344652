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
from tests.fixtures.cli import operator_stderr_lines

OPTIONS = ("--accounts", "--host", "--allow-remote", "--port", "--tape", "--symbols", "--seed",
           "--speed",
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
    (["--symbols", "BTCUSDT,DOGEUSDT"], ["--symbols", "unknown symbol 'DOGEUSDT'"]),
    (["--symbols", "ETHUSDT:0"], ["--symbols", "trade_rate"]),
])
def test_venue_bad_option_values_are_refused_naming_the_option(
    tmp_path: Path, args: list[str], names: list[str],
) -> None:
    result = CliRunner().invoke(app, ["venue", "--accounts", str(_accounts(tmp_path)), *args],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2
    for name in names:
        assert name in result.output


LONG = "a" * 10_000


def _hostile_files(tmp_path: Path) -> dict[str, str]:
    """Paths that are not usable files: binary, a directory, missing, special, huge."""
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81 api_key: k")
    binary_json = tmp_path / "binary.json"
    binary_json.write_bytes(b"\xff\xfe\x00\x81")
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (2 << 20))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes(b"\xff\xfe\x00\x81,binary\n")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    return {"binary": str(binary), "binary_json": str(binary_json), "huge": str(huge),
            "deep": str(deep), "bad_csv": str(bad_csv), "dir": str(tmp_path),
            "missing": str(tmp_path / "nope.yaml"), "under_a_file": str(a_file / "x"),
            "special": "/dev/zero"}


HOSTILE = [  # (option, value or a _hostile_files key in braces)
    *[("--accounts", v) for v in ("", LONG, "a\x01b", "{binary}", "{binary_json}", "{huge}",
                                  "{deep}", "{dir}", "{missing}", "{under_a_file}",
                                  "{special}")],
    *[("--host", v) for v in ("", LONG, "a\x01b", "a b", "-1", "1e400")],
    *[("--port", v) for v in ("", "-1", "65536", "1e400", "nan", LONG)],
    *[("--tape", v) for v in ("", LONG, "a\x01b", "{bad_csv}", "{dir}", "{missing}",
                              "{special}")],
    *[("--seed", v) for v in ("", "-1", "nan", "1e400", "9" * 30, LONG)],
    *[(option, v) for option in ("--speed", "--latency-ms", "--depth-median-qty")
      for v in ("", "-1", "nan", "inf", "1e400", "1e300", LONG)],
    ("--speed", "0"),
    *[("--funding-rate", v) for v in ("", "nan", "inf", "-1", "1e999999999", "1e400", LONG)],
    *[("--funding-interval-s", v) for v in ("", "0", "-1", "nan", "9" * 30, LONG)],
    *[("--cross-policy", v) for v in ("", LONG, "a\x01b")],
    *[("--symbols", v) for v in ("", LONG, "a\x01b", "BTCUSDT,BTCUSDT", "ETHUSDT:nan",
                                 "ETHUSDT:inf", "ETHUSDT:1e400", f"ETHUSDT:{LONG}")],
    *[("--fault", v) for v in ("", LONG, "a\x01b", "http_5xx", "http_5xx=nan", "http_5xx=inf",
                               "http_5xx=-1", "http_5xx=1e300", "http_5xx=1e400",
                               f"http_5xx=5,{LONG}=1", f"http_5xx=5,account={LONG}",
                               "ack_delay=5,ms=1e400", "ack_delay=5,ms=-1")],
]


@pytest.mark.timeout(60)  # a hostile value taken as valid would start serving: fail, not hang
@pytest.mark.parametrize(("option", "value"), HOSTILE,
                         ids=[f"{o}={v[:20]!r}" for o, v in HOSTILE])
def test_venue_hostile_option_value_fails_with_one_short_line_and_no_traceback(
    tmp_path: Path, option: str, value: str,
) -> None:
    files = _hostile_files(tmp_path)
    value = files[value[1:-1]] if value.startswith("{") and value.endswith("}") else value
    args = ["venue", "--accounts", str(_accounts(tmp_path)), "--port", "0", option, value]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit)  # an exception would be a traceback
    lines = operator_stderr_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert len(lines[0]) < 600  # a 10k-character value is not echoed whole
    assert result.stdout == ""  # nothing served


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


def test_venue_symbols_option_lists_only_the_chosen_symbols(tmp_path: Path) -> None:
    lines, proc = _start(tmp_path, "--symbols", "SOLUSDT,BTCUSDT:0.5")
    try:
        base = lines[0].split()[-1]
        session = HTTP(max_retries=1)
        session.endpoint = base
        listed = session.get_instruments_info(category="linear")["result"]["list"]
        assert [(i["symbol"], i["priceFilter"]["tickSize"]) for i in listed] == [
            ("SOLUSDT", "0.010"), ("BTCUSDT", "0.10")]
        status = requests.get(f"{base}/admin/status", timeout=5).json()
        assert list(status["symbols"]) == ["SOLUSDT", "BTCUSDT"]
    finally:
        proc.kill()
        proc.communicate(timeout=20)
