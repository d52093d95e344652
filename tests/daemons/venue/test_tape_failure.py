"""A file tape with a bad row after the first must stop loudly, not silently."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests

from daemons.venue.config import VenueConfig
from daemons.venue.server import start_venue
from daemons.venue.testing import make_accounts, wait_for

BARS = ("timestamp,open,high,low,close,volume\n"
        "1700000000,10,12,9,11,1000\n"
        "1700000060,11,12,10,11,1000\n")


def test_bad_bars_row_mid_tape_shows_failed_in_status_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(BARS + "1700000120,oops,12,10,11,1000\n")
    venue = start_venue(VenueConfig(accounts=make_accounts(1), tape=str(path), speed=1000.0))
    try:
        def tape_state() -> str:
            return requests.get(f"{venue.base_url}/admin/status", timeout=5).json()["tape"]

        state = wait_for(lambda: tape_state().startswith("failed") and tape_state(),
                         what="tape failure reported")
        assert "ValueError" in state and "oops" in state
        assert venue.call(lambda: venue.server.driver.fed) > 0  # the good bars were played
        assert requests.get(f"{venue.base_url}/v5/market/time", timeout=5).status_code == 200
    finally:
        venue.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("tape stopped" in r.getMessage() for r in errors)


def test_good_file_tape_reports_ended_not_failed(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(BARS)
    venue = start_venue(VenueConfig(accounts=make_accounts(1), tape=str(path), speed=1000.0))
    try:
        wait_for(lambda: venue.call(venue.server.driver.state) == "ended", what="tape end")
    finally:
        venue.stop()
