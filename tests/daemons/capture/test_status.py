"""The status file names the process that wrote it: a dead writer or a reused pid is shown
as stopped, a live writer that stopped updating as stuck. (Killed for real in test_cli.)"""

from __future__ import annotations

import math

import pytest

from daemons.capture.daemon import CaptureConfig
from daemons.capture.status import StatusBoard, render
from daemons.db.event_writer import WriterConfig
from daemons.status_file import state

WRITER = {"db_up": True, "buffered_rows": 0, "spilled_rows": 0, "replayed_rows": 0,
          "spill_files": 0, "lag_p99_ms": None}


def test_status_of_a_live_writer_is_running_until_it_stops_updating() -> None:
    snapshot = StatusBoard().snapshot({}, WRITER, {})  # written by this (live) process
    assert state(snapshot, snapshot["updated_ms"] + 1_000) == "running"
    assert state(snapshot, snapshot["updated_ms"] + 12_000) == "NOT UPDATING for 12 s"


def test_status_whose_pid_now_belongs_to_another_process_says_stopped() -> None:
    snapshot = StatusBoard().snapshot({}, WRITER, {})
    # this process's pid, but a start time an hour earlier: the pid was reused
    reused = {**snapshot, "process_started": snapshot["process_started"] - 3600,
              "updated_ms": 1_767_225_600_000}
    shown = render(reused, now_ms=1_767_225_600_000 + 30_000)
    assert shown.startswith(f"capture daemon pid {snapshot['pid']}: stopped (last seen "
                            "2026-01-01 00:00:00 UTC, 30 s ago)")


@pytest.mark.parametrize("value", [math.inf, math.nan, 0.0])
def test_capture_config_interval_that_is_not_positive_and_finite_is_refused(
        value: float) -> None:
    with pytest.raises(ValueError, match="positive and finite"):
        CaptureConfig(refresh_interval_s=value)
    with pytest.raises(ValueError, match="positive and finite"):
        WriterConfig(retry_max_s=value)
