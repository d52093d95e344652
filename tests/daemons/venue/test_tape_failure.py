"""A file tape with a bad row is refused before the venue serves; one that turns bad while
it plays (a row appended after the check) stops loudly, never silently.

Bars files and oldest-first trade files are checked whole at start, then streamed.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import requests

from daemons.venue.config import ConfigError, VenueConfig
from daemons.venue.server import start_venue
from daemons.venue.testing import make_accounts, wait_for

BARS = ("timestamp,open,high,low,close,volume\n"
        "1700000000,10,12,9,11,1000\n"
        "1700000060,11,12,10,11,1000\n")
TRADES = ("timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,"
          "foreignNotional\n"
          "1700000000.0,BTCUSDT,Sell,0.5,37000.5,MinusTick,a,1,0.5,1\n"
          "1700000001.0,BTCUSDT,Buy,0.1,37000.6,PlusTick,b,1,0.1,1\n")
BAD_FILES = {  # name: (content, what the status must say)
    "bars.csv": (BARS + "1700000120,oops,12,10,11,1000\n", "line 4: .*oops"),
    "trades.csv": (TRADES + "1700000002.0,BTCUSDT,Buy,0.1,oops,PlusTick,c,1,0.1,1\n",
                   "line 4: .*oops"),
    "negative_bar.csv": (BARS + "1700000120,11,12,-50000,11,1000\n",
                         "line 4: price must be a finite number > 0, got -50000.0"),
    "nan_trade.csv": (TRADES + "1700000002.0,BTCUSDT,Buy,0.1,nan,PlusTick,c,1,0.1,1\n",
                      "line 4: price must be a finite number > 0, got nan"),
    "negative_trade.csv": (TRADES + "1700000002.0,BTCUSDT,Buy,0.1,-50000,PlusTick,c,1,0.1,1\n",
                           "line 4: price must be a finite number > 0"),
    "zero_size_trade.csv": (TRADES + "1700000002.0,BTCUSDT,Buy,0,37000.7,PlusTick,c,1,0,1\n",
                            "line 4: size must be a finite number > 0"),
}


def _path(tmp_path: Path, name: str) -> Path:
    return tmp_path / name.replace("negative_", "").replace("nan_", "").replace("zero_size_", "")


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_row_in_tape_file_is_refused_with_its_line_before_serving(
    name: str, tmp_path: Path,
) -> None:
    content, reason = BAD_FILES[name]
    path = _path(tmp_path, name)
    path.write_text(content)
    with pytest.raises(ConfigError, match=rf"^tape: {path.name}, {reason}"):
        start_venue(VenueConfig(accounts=make_accounts(1), tape=str(path), speed=1000.0))


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_row_appended_while_playing_shows_failed_with_its_line_and_is_never_played(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    content, reason = BAD_FILES[name]
    path = _path(tmp_path, name)
    good, bad = content.rsplit("\n", 2)[0] + "\n", content.rsplit("\n", 2)[1] + "\n"
    path.write_text(good)
    venue = start_venue(VenueConfig(accounts=make_accounts(1), tape=str(path), speed=1000.0,
                                    start_paused=True))
    try:
        with path.open("a") as handle:
            handle.write(bad)
        requests.post(f"{venue.base_url}/admin/tape/resume", timeout=5).raise_for_status()

        def tape_state() -> str:
            return requests.get(f"{venue.base_url}/admin/status", timeout=5).json()["tape"]

        state = wait_for(lambda: tape_state().startswith("failed") and tape_state(),
                         what="tape failure reported")
        assert re.search(rf"failed: BadRowError: {path.name}, {reason}", state), state
        assert venue.call(lambda: venue.server.driver.fed) > 0  # the good rows were played
        last = requests.get(f"{venue.base_url}/admin/status", timeout=5).json()["last_price"]
        assert float(last) > 0  # a trade at -50,000 or NaN would have become the last price
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
