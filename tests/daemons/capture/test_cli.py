"""`gridbot capture` as an operator runs it: a process that stops cleanly on SIGTERM (also
before its --duration-s), re-reads its targets on SIGHUP, spills through a database outage
and refuses numbers it cannot use; `gridbot capture status` knows a dead daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemons.cli.main import app
from daemons.db.session import Database
from daemons.secrets.keys import load_keyring
from daemons.status_file import read_status
from daemons.venue.server import RunningVenue
from daemons.venue.testing import pybit_http
from tests.daemons.capture.conftest import (
    SYMBOL,
    OwnServer,
    captured_fills,
    captured_trades,
    normalised,
    owner,
    record_prints,
    start_capture_venue,
    store_tenants,
    venue_fills,
    venue_prints,
    wait_capture_subscribed,
)
from tests.fixtures.cli import operator_stderr_lines
from tests.fixtures.leak_guard import scan_output
from tests.fixtures.waiting import wait_until


@contextmanager
def capture_process(venue: RunningVenue, log: Path, *options: str,
                    ) -> Iterator[subprocess.Popen[str]]:
    """A real `gridbot capture` process on ``venue``, its output in ``log`` (no pipe to
    fill up while the test does not read); killed at the end if it still runs."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from daemons.cli.main import app; app()", "capture",
             "--venue-url", venue.base_url, *options], stdout=out, stderr=subprocess.STDOUT,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def process_output(log: Path) -> str:
    return scan_output(log.read_text(), "gridbot capture subprocess")


def wait_streaming(home: Path) -> Path:
    """Wait until the daemon's status file shows every stream connected; return its path."""
    status_path = home / "capture" / "status.json"
    wait_until(lambda: (read_status(status_path) or {}).get("streams"), 30, "status file")
    wait_until(lambda: all(s["connected"] for s in read_status(status_path)["streams"]),
               15, "connected streams")
    return status_path


def spill_replayed(status: dict | None) -> bool:
    """Whether the daemon's writer is connected again and has stored every spill file."""
    writer = (status or {}).get("writer", {})
    return bool(writer.get("db_up") and writer.get("replayed_rows") and
                writer.get("spill_files") == 0)


def capture_status(*options: str) -> str:
    result = CliRunner().invoke(app, ["capture", "status", *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_capture_cli_sigterm_flushes_everything_and_status_shows_streams(
        db: Database, db_env: dict[str, str], tmp_path: Path) -> None:
    home = Path(db_env["GRIDBOT_HOME"])
    venue = start_capture_venue(1, speed=10.0, start_paused=True)
    log = tmp_path / "capture.log"
    try:
        ids = store_tenants(db, load_keyring(home, create=True), venue)
        prints = record_prints(venue)
        with capture_process(venue, log) as proc:
            status_path = wait_streaming(home)
            wait_capture_subscribed(venue, len(ids))
            venue.call(venue.server.clock.resume)
            # one deterministic fill: a resting buy, then a print through its price
            spec = venue.server.config.accounts[0]
            last = venue.call(lambda: venue.server.core.market.last_ticks)
            price = f"{(last - 50) / 10:.1f}"
            pybit_http(venue, spec).place_order(category="linear", symbol=SYMBOL, side="Buy",
                                                orderType="Limit", qty="0.001", price=price,
                                                positionIdx=1)
            time.sleep(0.5)
            urllib.request.urlopen(urllib.request.Request(
                f"{venue.base_url}/admin/tape/trades", method="POST", data=json.dumps(
                    [{"side": "Sell", "price": f"{(last - 60) / 10:.1f}", "size": "1"}]
                ).encode()), timeout=5).close()
            time.sleep(2.0)
            venue.call(venue.server.clock.pause)
            time.sleep(0.3)
            status = capture_status()
            # SIGHUP re-reads the targets now: a disabled account's streams leave the status
            assert CliRunner().invoke(app, ["accounts", "disable", spec.name]).exit_code == 0
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda: not [s for s in read_status(status_path)["streams"]
                                    if "/execution" in s["stream"]], 10, "account dropped")
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        expected = normalised(venue_prints(venue, prints))
        fills = venue_fills(venue, spec.name)
    finally:
        venue.stop()
    output = process_output(log)
    assert proc.returncode == 0, output
    assert "capture stopped" in output
    assert spec.api_secret not in output
    assert f"public/publicTrade.{SYMBOL}" in status and ": running" in status
    assert "/execution" in status
    assert set(captured_trades(db)) == expected and len(expected) > 100
    account_id = ids[spec.name]
    assert fills and set(captured_fills(db, owner(db, account_id), account_id)) == fills


def signalled_capture(db: Database, home: Path, log: Path, sig: signal.Signals,
                      *options: str) -> subprocess.Popen[str]:
    """Run `gridbot capture` until its status says running, send ``sig``, wait for the exit."""
    venue = start_capture_venue(1, start_paused=True)
    try:
        store_tenants(db, load_keyring(home, create=True), venue)
        with capture_process(venue, log, *options) as proc:
            wait_streaming(home)
            assert ": running" in capture_status()
            proc.send_signal(sig)
            proc.wait(timeout=60)
    finally:
        venue.stop()
    return proc


def test_capture_cli_sigterm_before_its_duration_exits_and_status_says_stopped(
        db: Database, db_env: dict[str, str], tmp_path: Path) -> None:
    # a timer thread used to keep the process alive for the whole 600 s
    proc = signalled_capture(db, Path(db_env["GRIDBOT_HOME"]), tmp_path / "capture.log",
                             signal.SIGTERM, "--duration-s", "600")
    output = process_output(tmp_path / "capture.log")
    assert proc.returncode == 0 and "capture stopped" in output, output
    shown = capture_status()
    assert f"pid {proc.pid}: stopped (last seen " in shown and "running" not in shown


def test_capture_status_of_a_killed_daemon_says_stopped(
        db: Database, db_env: dict[str, str], tmp_path: Path) -> None:
    # no clean stop: the status file still says what it said a moment before
    proc = signalled_capture(db, Path(db_env["GRIDBOT_HOME"]), tmp_path / "capture.log",
                             signal.SIGKILL)
    process_output(tmp_path / "capture.log")
    shown = capture_status()
    assert f"pid {proc.pid}: stopped (last seen " in shown and "running" not in shown
    assert json.loads(capture_status("--json"))["state"].startswith("stopped (last seen ")


@pytest.mark.parametrize(("option", "value"), [
    ("--refresh-interval-s", "inf"), ("--refresh-interval-s", "nan"),
    ("--refresh-interval-s", "0"), ("--reconcile-interval-s", "inf"),
    ("--reconcile-interval-s", "1e300"), ("--duration-s", "inf"), ("--duration-s", "-1"),
    ("--duration-s", "1e12"), ("--order-rate", "1000000000"), ("--query-rate", "inf"),
    ("--spill-after-rows", "0"), ("--spill-after-rows", "1000000000"),
])
def test_capture_cli_number_out_of_range_is_refused_in_one_line(
        db_env: dict[str, str], option: str, value: str) -> None:
    result = CliRunner().invoke(app, ["capture", "--venue-url", "http://127.0.0.1:9",
                                      option, value])
    lines = operator_stderr_lines(result.output)
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith(f"error: Invalid value for '{option}'"), lines


def test_capture_cli_database_stopped_past_the_spill_limit_loses_nothing(
        own_server: OwnServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    for name, value in own_server.env(home).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GRIDBOT_MASTER_KEY", raising=False)
    monkeypatch.delenv("GRIDBOT_KEY_DIR", raising=False)
    db = own_server.db
    venue = start_capture_venue(1, speed=10.0, start_paused=True)
    log = tmp_path / "capture.log"
    spill_dir = home / "capture" / "spill"
    try:
        store_tenants(db, load_keyring(home, create=True), venue)
        prints = record_prints(venue)
        with capture_process(venue, log, "--spill-after-rows", "300") as proc:
            status_path = wait_streaming(home)
            wait_capture_subscribed(venue, 1)
            venue.call(venue.server.clock.resume)
            wait_until(lambda: len(captured_trades(db)) > 100, 20, "trades stored")
            own_server.stop()
            try:
                wait_until(lambda: list(spill_dir.glob("spill-*.jsonl")), 30, "a spill file")
            finally:
                own_server.start()
            wait_until(lambda: spill_replayed(read_status(status_path)), 30,
                       "the spill file replayed")
            time.sleep(1.0)  # trades go on arriving and are stored straight away again
            venue.call(venue.server.clock.pause)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        expected = normalised(venue_prints(venue, prints))
    finally:
        venue.stop()
    output = process_output(log)
    assert proc.returncode == 0, output
    writer = read_status(status_path)["writer"]
    assert writer["spilled_rows"] > 300 and writer["replayed_rows"] == writer["spilled_rows"]
    got = captured_trades(db)
    assert len(got) == len(set(got)), "a trade was stored twice"
    assert set(got) == expected and len(expected) > 1000, (len(expected - set(got)),
                                                          len(set(got) - expected))
    assert list(spill_dir.glob("spill-*.jsonl")) == []


def test_capture_cli_refusals_are_one_line(db_env: dict[str, str]) -> None:
    runner = CliRunner()
    no_status = runner.invoke(app, ["capture", "status"])
    assert no_status.exit_code == 1 and "no capture status" in no_status.output
    no_url = runner.invoke(app, ["capture"], env={"GRIDBOT_LOCAL_VENUE_URL": ""})
    assert no_url.exit_code == 1 and "GRIDBOT_LOCAL_VENUE_URL" in no_url.output
    nothing = runner.invoke(app, ["capture", "--venue-url", "http://127.0.0.1:9"])
    assert nothing.exit_code == 1 and "nothing to capture" in nothing.output
    bad_env = runner.invoke(app, ["capture", "--environment", "moon"])
    assert bad_env.exit_code == 1 and "environment" in bad_env.output
