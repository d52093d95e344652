"""The proof: minutes of accelerated tape, 2 trading accounts, 20 WebSocket drops and a
PostgreSQL restart; the captured trades equal the venue's tape and the captured
executions equal the venue's fills, none lost, none doubled.

The database is a dedicated embedded server (not the suite's), so that restarting it
disturbs no other test.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from daemons.db.event_writer import WriterConfig
from daemons.secrets.keys import Keyring
from tests.daemons.capture.conftest import (
    OrderFlow,
    OwnServer,
    captured_fills,
    captured_trades,
    fast_config,
    make_daemon,
    normalised,
    owner,
    record_prints,
    start_capture_venue,
    store_tenants,
    venue_fills,
    venue_prints,
)
from tests.fixtures.waiting import wait_until

SPEED = 20.0  # about 1,200 trades/s of the generated tape
DROPS = 20
DROP_EVERY_S = 3.0


def _admin(base_url: str, path: str) -> None:
    request = urllib.request.Request(f"{base_url}{path}", method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


@pytest.mark.slow
def test_capture_drops_and_db_restart_lose_nothing_and_double_nothing(
        own_server: OwnServer, keyring: Keyring, tmp_path: Path) -> None:
    db = own_server.db
    venue = start_capture_venue(2, speed=SPEED, start_paused=True, funding_interval_s=600)
    ids = store_tenants(db, keyring, venue)
    prints = record_prints(venue)
    config = fast_config(writer=WriterConfig(flush_interval_s=0.05, max_buffer_rows=2000,
                                             retry_min_s=0.1, retry_max_s=0.5))
    daemon = make_daemon(db, keyring, venue, tmp_path / "home", config).start()
    flow = OrderFlow(venue)
    try:
        wait_until(lambda: daemon.public.stream.is_connected()
                   and all(a.stream.is_connected() for a in daemon.accounts), 10, "streams")
        time.sleep(0.3)
        venue.call(venue.server.clock.resume)
        flow.start()
        names = [spec.name for spec in venue.server.config.accounts]
        targets = ["stream=all", "stream=public"] + [f"stream=private&account={n}"
                                                     for n in names]
        for number in range(DROPS):
            time.sleep(DROP_EVERY_S)
            _admin(venue.base_url, f"/admin/ws/drop?{targets[number % len(targets)]}")
            if number == DROPS // 2:
                own_server.stop()
                time.sleep(2.0)
                own_server.start()
        time.sleep(DROP_EVERY_S)
        flow.stop()
        time.sleep(1.0)
        venue.call(venue.server.clock.pause)
        # Let every reconnect settle and one more timer reconcile run, then drain.
        reconciled = daemon.reconciler.completed
        wait_until(lambda: daemon.reconciler.completed > reconciled + 1
                   and daemon.reconciler.idle(), 30, "a final reconcile")
        assert daemon.writer.wait_idle(30)
        reconnects = {s.name: s.stats.reconnects for s in
                      [daemon.public.stream] + [a.stream for a in daemon.accounts]}
        spilled = daemon.writer.stats.spilled_rows
        expected = normalised(venue_prints(venue, prints))
        fills = {name: venue_fills(venue, name) for name in ids}
    finally:
        flow.stop()
        daemon.stop()
        venue.stop()
    assert reconnects["public"] >= DROPS // 2, reconnects
    assert all(count >= DROPS // 4 for count in reconnects.values()), reconnects
    assert spilled > 0, "the restart should have pushed rows through the spill file"
    got = captured_trades(db)
    assert len(expected) > 50_000
    assert len(got) == len(set(got)), "a trade was stored twice"
    assert set(got) == expected, (len(expected - set(got)), len(set(got) - expected))
    for name, account_id in ids.items():
        assert len(fills[name]) > 20, name
        stored = captured_fills(db, owner(db, account_id), account_id)
        assert len(stored) == len(set(stored))
        assert set(stored) == fills[name], name
    with db.admin() as conn:
        unfilled = conn.execute("SELECT count(*) FROM capture_gaps WHERE stream = 'publicTrade'"
                                " AND NOT filled").fetchone()[0]
    assert unfilled == 0
