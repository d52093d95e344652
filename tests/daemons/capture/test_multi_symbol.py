"""Capture follows every symbol: against a venue listing four symbols, the trades captured
for each symbol are exactly that symbol's tape as the venue published it."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from daemons.db import strategies
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from daemons.venue.testing import record_prints
from tests.daemons.capture.conftest import (
    GRID,
    make_daemon,
    normalised,
    owner,
    start_capture_venue,
    store_tenants,
    wait_capture_subscribed,
)
from tests.fixtures.waiting import wait_until

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")


def _captured(db: Database, symbol: str) -> list[tuple]:
    with db.market_data() as conn:
        rows = conn.execute(
            "SELECT trade_id, (extract(epoch FROM exchange_ts) * 1000)::bigint, price, size,"
            " side FROM public_trades WHERE symbol = %s", [symbol]).fetchall()
    return [(i, t, p.normalize(), s.normalize(), side) for i, t, p, s, side in rows]


def test_capture_of_a_multi_symbol_venue_stores_each_symbols_tape_exactly(
        db: Database, keyring: Keyring, capture_home: Path) -> None:
    venue = start_capture_venue(2, speed=5.0, start_paused=True)
    try:
        ids = store_tenants(db, keyring, venue)  # BTCUSDT strategies
        first = next(iter(ids.values()))
        with db.unit_of_work(owner(db, first)) as conn:
            for symbol in SYMBOLS[1:]:
                strategies.add_strategy(conn, first, symbol, GRID)
        prints = record_prints(venue)
        daemon = make_daemon(db, keyring, venue, capture_home).start()
        try:
            wait_capture_subscribed(venue, len(ids), SYMBOLS)
            venue.call(venue.server.clock.resume)
            time.sleep(6)
            venue.call(venue.server.clock.pause)
            total = venue.call(lambda: sum(len(prints[s]) for s in SYMBOLS))
            wait_until(lambda: sum(len(_captured(db, s)) for s in SYMBOLS) >= total, 30,
                       "every print stored")
            assert daemon.writer.wait_idle(10)
        finally:
            daemon.stop()
        published = venue.call(lambda: {s: list(prints[s]) for s in SYMBOLS})
    finally:
        venue.stop()
    for symbol in SYMBOLS:
        expected = normalised({(p["i"], p["T"], Decimal(p["p"]), Decimal(p["v"]), p["S"])
                               for p in published[symbol]})
        got = _captured(db, symbol)
        assert len(expected) > 50, symbol
        assert len(got) == len(set(got)), symbol
        assert set(got) == expected, symbol
