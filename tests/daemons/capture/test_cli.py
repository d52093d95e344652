"""`gridbot capture` as an operator runs it: a process that stops cleanly on SIGTERM and
re-reads its targets on SIGHUP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from daemons.capture.status import read_status
from daemons.cli.main import app
from daemons.db.session import Database
from daemons.secrets.keys import load_keyring
from daemons.venue.testing import pybit_http
from tests.daemons.capture.conftest import (
    SYMBOL,
    captured_fills,
    captured_trades,
    normalised,
    owner,
    record_prints,
    start_capture_venue,
    store_tenants,
    venue_fills,
    venue_prints,
    wait_until,
)
from tests.fixtures.leak_guard import scan_output


def test_capture_cli_sigterm_flushes_everything_and_status_shows_streams(
        db: Database, db_env: dict[str, str]) -> None:
    home = Path(db_env["GRIDBOT_HOME"])
    venue = start_capture_venue(1, speed=10.0, start_paused=True)
    proc = None
    try:
        ids = store_tenants(db, load_keyring(home, create=True), venue)
        prints = record_prints(venue)
        proc = subprocess.Popen(
            [sys.executable, "-c", "from daemons.cli.main import app; app()", "capture",
             "--venue-url", venue.base_url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        status_path = home / "capture" / "status.json"
        wait_until(lambda: (read_status(status_path) or {}).get("streams"), 30, "status file")
        wait_until(lambda: all(s["connected"] for s in read_status(status_path)["streams"]),
                   15, "connected streams")
        time.sleep(0.5)
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
                [{"side": "Sell", "price": f"{(last - 60) / 10:.1f}", "size": "1"}]).encode()),
            timeout=5).close()
        time.sleep(2.0)
        venue.call(venue.server.clock.pause)
        time.sleep(0.3)
        status = CliRunner().invoke(app, ["capture", "status"])
        # SIGHUP re-reads the targets now: a disabled account's streams leave the status
        assert CliRunner().invoke(app, ["accounts", "disable", spec.name]).exit_code == 0
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: not [s for s in read_status(status_path)["streams"]
                                if "/execution" in s["stream"]], 10, "account dropped")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        output = scan_output(output, "gridbot capture subprocess")
        expected = normalised(venue_prints(venue, prints))
        fills = venue_fills(venue, spec.name)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        venue.stop()
    assert proc.returncode == 0, output
    assert "capture stopped" in output
    assert spec.api_secret not in output
    assert status.exit_code == 0, status.output
    assert f"public/publicTrade.{SYMBOL}" in status.output and "running" in status.output
    assert "/execution" in status.output
    assert set(captured_trades(db)) == expected and len(expected) > 100
    account_id = ids[spec.name]
    assert fills and set(captured_fills(db, owner(db, account_id), account_id)) == fills


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
