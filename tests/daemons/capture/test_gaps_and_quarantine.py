"""Gaps REST cannot fill are recorded with their window; bad messages are quarantined."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from daemons.db.event_rows import ms
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from tests.daemons.capture.conftest import (
    SYMBOL,
    captured_trades,
    make_daemon,
    normalised,
    record_prints,
    start_capture_venue,
    store_tenants,
    venue_prints,
)
from tests.fixtures.waiting import wait_until


def _post(base_url: str, path: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{base_url}{path}", method="POST"),
                           timeout=5).close()


def test_capture_more_than_1000_trades_lost_records_unfilled_gap_covering_every_loss(
        db: Database, keyring: Keyring, capture_home: Path) -> None:
    venue = start_capture_venue(1, speed=40.0, start_paused=True)
    try:
        store_tenants(db, keyring, venue)
        prints = record_prints(venue)
        daemon = make_daemon(db, keyring, venue, capture_home).start()
        try:
            wait_until(daemon.public.stream.is_connected, 10, "public stream")
            time.sleep(0.3)
            venue.call(venue.server.clock.resume)
            time.sleep(1.0)
            _post(venue.base_url, "/admin/faults/stall_public?seconds=1.5&mode=drop")
            time.sleep(2.5)
            venue.call(venue.server.clock.pause)
            wait_until(lambda: daemon.board.streams[f"public/publicTrade.{SYMBOL}"].gaps_open,
                       15, "an unfilled gap")
            assert daemon.writer.wait_idle(10)
            expected = normalised(venue_prints(venue, prints))
        finally:
            daemon.stop()
    finally:
        venue.stop()
    with db.admin() as conn:
        gaps = conn.execute("SELECT window_start, window_end, reason, detail FROM capture_gaps"
                            " WHERE stream = 'publicTrade' AND NOT filled").fetchall()
    assert len(gaps) == 1
    start, end, reason, detail = gaps[0]
    assert reason == "sequence" and "lost" in detail
    got = set(captured_trades(db))
    missing = expected - got
    assert len(missing) > 1000 and got <= expected
    assert all(ms(start) <= t <= ms(end) for _, t, _, _, _ in missing)


def test_capture_malformed_messages_are_quarantined_and_streams_go_on(
        db: Database, keyring: Keyring, capture_home: Path) -> None:
    venue = start_capture_venue(1, speed=5.0)
    try:
        ids = store_tenants(db, keyring, venue)
        daemon = make_daemon(db, keyring, venue, capture_home).start()
        try:
            wait_until(lambda: daemon.board.streams[f"public/publicTrade.{SYMBOL}"].events, 10,
                       "trades")
            now = int(time.time() * 1000)
            good = {"T": now, "s": SYMBOL, "S": "Buy", "v": "0.001", "p": "100.0", "i": "ok-1",
                    "seq": 1}
            daemon.public.on_message({"topic": f"publicTrade.{SYMBOL}", "ts": now,
                                      "data": [{**good, "v": "-1", "i": "neg"}, good]}, now)
            daemon.public.on_message({"topic": f"publicTrade.{SYMBOL}", "ts": now}, now)
            daemon.public.on_invalid("{garbage", "json: not JSON")
            account = daemon.accounts[0]
            account.on_message({"topic": "execution", "creationTime": now,
                                "data": [{"execId": "e-bad", "symbol": SYMBOL,
                                          "category": "linear"}]}, now)
            before = daemon.board.streams[f"public/publicTrade.{SYMBOL}"].events
            wait_until(lambda: daemon.board.streams[f"public/publicTrade.{SYMBOL}"].events
                       > before + 1, 10, "the stream going on")
            assert daemon.writer.wait_idle(10)
        finally:
            daemon.stop()
    finally:
        venue.stop()
    with db.market_data() as conn:
        public = conn.execute("SELECT source, topic, error FROM raw_quarantine"
                              " WHERE account_id IS NULL ORDER BY id").fetchall()
        ok = conn.execute("SELECT count(*) FROM public_trades WHERE trade_id = 'ok-1'"
                          ).fetchone()[0]
    assert [(s, e.split(":")[0]) for s, _, e in public] == [
        ("ws.public", "publicTrade.v"), ("ws.public", "publicTrade.data"), ("ws.public", "json")]
    assert ok == 1
    account_id = next(iter(ids.values()))
    with db.admin() as conn:
        private = conn.execute("SELECT source, error FROM raw_quarantine WHERE account_id = %s",
                               [account_id]).fetchall()
    assert private == [("ws.execution", "execution.execTime: missing")]
    assert daemon.board.streams[f"public/publicTrade.{SYMBOL}"].quarantined == 2
