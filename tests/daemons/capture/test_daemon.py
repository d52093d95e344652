"""The capture daemon against a real venue and a real database."""

from __future__ import annotations

import time
from pathlib import Path

from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from daemons.venue.server import RunningVenue
from tests.daemons.capture.conftest import (
    OrderFlow,
    captured_fills,
    captured_trades,
    make_daemon,
    normalised,
    owner,
    record_prints,
    store_tenants,
    venue_fills,
    venue_prints,
    wait_capture_subscribed,
)
from tests.fixtures.waiting import wait_until


def test_daemon_live_venue_captures_tape_and_fills_exactly(
        db: Database, keyring: Keyring, venue2: RunningVenue, capture_home: Path) -> None:
    ids = store_tenants(db, keyring, venue2)
    prints = record_prints(venue2)
    daemon = make_daemon(db, keyring, venue2, capture_home).start()
    flow = None
    try:
        wait_capture_subscribed(venue2, len(ids))
        venue2.call(venue2.server.clock.resume)
        flow = OrderFlow(venue2).start()
        time.sleep(6)
        flow.stop()
        time.sleep(1)
        venue2.call(venue2.server.clock.pause)
        # the market is still: what is in flight arrives, then nothing more
        expected = normalised(venue_prints(venue2, prints))
        wait_until(lambda: set(captured_trades(db)) == expected, 30, "every print stored")
        assert daemon.writer.wait_idle(10)
    finally:
        if flow:
            flow.stop()
        daemon.stop()
    expected = normalised(venue_prints(venue2, prints))
    got = captured_trades(db)
    assert len(got) == len(set(got))
    assert set(got) == expected
    for name, account_id in ids.items():
        fills = venue_fills(venue2, name)
        assert fills, name
        assert set(captured_fills(db, owner(db, account_id), account_id)) == fills
