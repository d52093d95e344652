"""reconciled_account_data: capture gaps filled from the local venue's REST API, for real.

The venue's accounts trade for a few seconds while nothing captures them, so the database
misses every execution; a capture gap recorded over that window is what the nightly
reconciliation must fill. Credentials are stored encrypted under a key in the key
directory of ``GRIDBOT_HOME``, which the asset reads inside its run (no master key in the
environment).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pytest

from daemons.db.session import Database
from daemons.db.settings import gridbot_home
from daemons.db.times import datetime_of_ms
from daemons.secrets.keys import load_keyring
from daemons.venue.server import RunningVenue
from daemons.venue.testing import wait_for
from gridbot_pipelines.defs.accounts.assets import reconciled_account_data
from gridbot_pipelines.defs.accounts.checks import executions_valid
from gridbot_pipelines.resources import BybitResource, DatabaseResource
from tests.daemons.capture.conftest import (
    OrderFlow,
    captured_fills,
    owner,
    start_capture_venue,
    store_tenants,
    venue_fills,
)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    running = start_capture_venue(2, speed=5.0)
    yield running
    running.stop()


def _settle(venue: RunningVenue) -> None:
    """Wait until fills already decided have landed (the venue's own latency)."""
    seen, still = -1, 0
    while still < 10:
        count = len(venue_fills(venue, "trader1"))
        still = still + 1 if count == seen else 0
        seen = count
        time.sleep(0.1)


def _materialise(venue: RunningVenue, day: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [reconciled_account_data, executions_valid], partition_key=day,
        resources={"database": DatabaseResource(),
                   "bybit": BybitResource(environment="local", venue_url=venue.base_url)})


def _meta(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (event,) = result.asset_materializations_for_node("reconciled_account_data")
    return {key: value.value for key, value in event.metadata.items()}


def test_reconciled_account_data_fills_a_listed_gap_from_rest(
        pipeline_db: Database, venue: RunningVenue) -> None:
    keyring = load_keyring(gridbot_home(), environ={}, create=True)
    ids = store_tenants(pipeline_db, keyring, venue)
    gap_start = int(time.time() * 1000)
    flow = OrderFlow(venue, per_account_per_s=8.0).start()
    try:
        wait_for(lambda: len(venue_fills(venue, "trader1")) >= 5, 60, "fills at the venue")
    finally:
        flow.stop()
        venue.call(venue.server.clock.pause)  # no more prints, so no more fills
    _settle(venue)
    gap_end = int(time.time() * 1000)
    day = datetime.fromtimestamp(gap_start / 1000, UTC).date().isoformat()
    trader1 = ids["trader1"]
    user1 = owner(pipeline_db, trader1)
    with pipeline_db.unit_of_work(user1) as conn:
        conn.execute(
            "INSERT INTO capture_gaps (gap_id, account_id, stream, window_start, window_end,"
            " reason, filled) VALUES (gen_random_uuid(), %s, 'private', %s, %s, 'reconnect',"
            " false)", [trader1, datetime_of_ms(gap_start), datetime_of_ms(gap_end)])
    assert captured_fills(pipeline_db, user1, trader1) == []

    result = _materialise(venue, day)

    assert result.success
    expected = {fill for fill in venue_fills(venue, "trader1")
                if gap_start <= fill[1] <= gap_end}
    assert len(expected) >= 5
    stored = set(captured_fills(pipeline_db, user1, trader1))
    assert expected <= stored
    meta = _meta(result)
    assert (meta["accounts"], meta["gaps"], meta["gaps_filled"]) == (2, 1, 1)
    assert meta["executions_recovered"] == len(expected)
    with pipeline_db.unit_of_work(user1) as conn:
        filled, recovered = conn.execute(
            "SELECT filled, rows_recovered FROM capture_gaps WHERE account_id = %s",
            [trader1]).fetchone()
    assert filled is True and recovered == len(expected)
    trader2 = ids["trader2"]  # no gap listed: nothing fetched for it
    assert captured_fills(pipeline_db, owner(pipeline_db, trader2), trader2) == []
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]

    again = _materialise(venue, day)  # idempotent: the same rows, nothing recovered twice
    assert _meta(again)["executions_recovered"] == 0
    assert set(captured_fills(pipeline_db, user1, trader1)) == stored


def test_executions_valid_fails_on_an_execution_stored_twice(pipeline_db: Database) -> None:
    """The table allows one exec id at two times (its key holds the time); the check does
    not."""
    from datetime import timedelta
    from decimal import Decimal

    from daemons.db.copy_writer import copy_events
    from tests.fixtures.tenants import make_tenant
    from tests.gridbot_pipelines.data import day_start_ms

    day = "2026-07-01"
    keyring = load_keyring(gridbot_home(), environ={}, create=True)  # the run reads it
    tenant = make_tenant(pipeline_db, keyring, "dora", events=False)
    at = datetime_of_ms(day_start_ms(day) + 60_000)
    row = {"account_id": tenant.account_id, "symbol": "BTCUSDT", "exec_id": "e-twice",
           "order_id": "o-1", "side": "Buy", "exec_price": Decimal("60000"),
           "exec_qty": Decimal("0.001"), "exchange_ts": at, "local_ts": at}
    with pipeline_db.unit_of_work(tenant.user_id) as conn:
        copy_events(conn, "private_executions", [
            row, {**row, "exchange_ts": at + timedelta(seconds=5),
                  "local_ts": at + timedelta(seconds=5)}])
    result = dg.materialize([reconciled_account_data, executions_valid], partition_key=day,
                            resources={"database": DatabaseResource(),
                                       "bybit": BybitResource(environment="testnet")},
                            raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed is False
    assert evaluation.metadata["results"].value[0]["examples"][0]["exec_id"] == "e-twice"
