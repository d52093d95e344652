"""The event writer on a real database: batches, duplicates, outages, spill and replay.

An outage is real: the test database stops accepting connections and its sessions are
terminated (other tests' databases on the same server are untouched).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg

from daemons.db import event_rows as rows
from daemons.db.event_writer import EventWriter, WriterConfig
from daemons.db.session import Database
from gridcore.events import PublicTradeEvent
from tests.fixtures.postgres import PgTestServer
from tests.fixtures.waiting import wait_until

T0 = 1_767_225_600_000  # 2026-01-01


def trades(start: int, count: int) -> list[rows.Row]:
    return [rows.public_trade(PublicTradeEvent(
        symbol="BTCUSDT", exchange_ts=T0 + n, local_ts=T0 + n, seq=n, trade_id=f"t{n}",
        side="Buy" if n % 2 else "Sell", price=Decimal("50000.1"), size=Decimal("0.001")))
        for n in range(start, start + count)]


def stored(db: Database) -> int:
    with db.market_data() as conn:
        return conn.execute("SELECT count(*) FROM public_trades").fetchone()[0]


@contextmanager
def database_down(pg_server: PgTestServer, name: str) -> Iterator[None]:
    with psycopg.connect(pg_server.admin_url(), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE datname = %s AND pid <> pg_backend_pid()", [name])
    try:
        yield
    finally:
        with psycopg.connect(pg_server.admin_url(), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")


def make_writer(db: Database, tmp_path: Path, **config: float) -> EventWriter:
    values = {"flush_interval_s": 0.02, "retry_min_s": 0.05, "retry_max_s": 0.2, **config}
    return EventWriter(db, tmp_path / "spill", WriterConfig(**values), name="capture").start()


def test_writer_redelivered_rows_are_stored_once(db: Database, tmp_path: Path) -> None:
    writer = make_writer(db, tmp_path)
    try:
        writer.put(None, "public_trades", trades(0, 500))
        writer.put(None, "public_trades", trades(250, 500))  # half of it again
        assert writer.wait_idle(10)
    finally:
        writer.close()
    assert stored(db) == 750
    assert writer.stats.received["public_trades"] == 1000
    assert writer.stats.inserted["public_trades"] == 750
    assert len(writer.stats.lags_ms) == 1000


def test_writer_database_outage_buffers_spills_and_replays_everything(
        db: Database, db_name: str, pg_server: PgTestServer, tmp_path: Path) -> None:
    writer = make_writer(db, tmp_path, max_buffer_rows=300)
    try:
        writer.put(None, "public_trades", trades(0, 100))
        assert writer.wait_idle(10)
        with database_down(pg_server, db_name):
            for start in range(100, 1100, 100):
                writer.put(None, "public_trades", trades(start, 100))
            wait_until(writer.spill_files, 10, "rows past the buffer bound in a spill file")
            assert not writer.stats.db_up
        assert writer.wait_idle(15)
    finally:
        writer.close()
    assert stored(db) == 1100
    assert writer.stats.spilled_rows > 0 and writer.stats.replayed_rows == writer.stats.spilled_rows
    assert writer.stats.db_up and writer.spill_files() == []


def test_writer_closed_while_database_is_down_spills_and_next_writer_replays(
        db: Database, db_name: str, pg_server: PgTestServer, tmp_path: Path) -> None:
    with database_down(pg_server, db_name):
        writer = make_writer(db, tmp_path)
        writer.put(None, "public_trades", trades(0, 200))
        writer.close()
        assert len(writer.spill_files()) == 1
        assert (writer.spill_files()[0].stat().st_mode & 0o777) == 0o600
    second = make_writer(db, tmp_path)
    try:
        assert second.wait_idle(10)
    finally:
        second.close()
    assert stored(db) == 200
    with db.market_data() as conn:
        price, at = conn.execute("SELECT price, exchange_ts FROM public_trades"
                                 " WHERE trade_id = 't7'").fetchone()
    assert price == Decimal("50000.1") and at == rows.ts(T0 + 7)


def test_writer_row_refused_by_the_database_is_quarantined_rest_stored(
        db: Database, tmp_path: Path) -> None:
    bad = list(trades(0, 1)[0])
    bad[5] = Decimal("-1")  # violates price > 0: a bug upstream, not an outage
    writer = make_writer(db, tmp_path)
    try:
        writer.put(None, "public_trades", trades(1, 50) + [tuple(bad)])
        assert writer.wait_idle(10)
    finally:
        writer.close()
    assert stored(db) == 50 and writer.stats.quarantined == 1
    with db.market_data() as conn:
        source, error = conn.execute("SELECT source, error FROM raw_quarantine").fetchone()
    assert source == "capture.writer" and "CheckViolation" in error


def test_writer_private_rows_go_through_the_owners_unit_of_work(
        db: Database, tmp_path: Path, keyring) -> None:
    from tests.fixtures.tenants import make_tenant

    alice = make_tenant(db, keyring, "alice", events=False)
    bob = make_tenant(db, keyring, "bob", events=False)
    gap = rows.gap(uuid.uuid4(), stream="private", symbol=None, start_ms=T0, end_ms=T0 + 5,
                   reason="reconnect", filled=True, account_id=alice.account_id)
    writer = make_writer(db, tmp_path)
    try:
        writer.put(alice.user_id, rows.GAPS.name, [gap])
        # bob's scope cannot write alice's account: refused, and not stored anywhere
        writer.put(bob.user_id, rows.GAPS.name, [rows.gap(
            uuid.uuid4(), stream="private", symbol=None, start_ms=T0, end_ms=T0, reason="x",
            filled=False, account_id=alice.account_id)])
        assert writer.wait_idle(10)
    finally:
        writer.close()
    with db.unit_of_work(alice.user_id) as conn:
        assert conn.execute("SELECT count(*) FROM capture_gaps").fetchone()[0] == 1
    with db.unit_of_work(bob.user_id) as conn:
        assert conn.execute("SELECT count(*) FROM capture_gaps").fetchone()[0] == 0
    assert writer.stats.refused == 1 and writer.stats.quarantined == 0


def test_writer_refused_engine_decision_is_quarantined_under_its_account(
        db: Database, tmp_path: Path, keyring) -> None:
    """The trading daemon's journal goes through the same writer: a row the database
    refuses is quarantined with the account it names, visible to its owner only."""
    from tests.fixtures.tenants import make_tenant

    alice = make_tenant(db, keyring, "alice", events=False)
    bob = make_tenant(db, keyring, "bob", events=False)
    at = rows.ts(T0)
    decision = (alice.account_id, alice.run_id, alice.strategy_id, 1, "BTCUSDT", at, at,
                "trade", {"price": "100"}, "place", "l-1", "Hold", Decimal("100"),
                Decimal("0.01"), {"kind": "place"})  # side Hold breaks the CHECK
    writer = EventWriter(db, tmp_path / "spill", WriterConfig(flush_interval_s=0.02),
                         name="trading").start()
    try:
        writer.put(alice.user_id, "engine_decisions", [decision])
        assert writer.wait_idle(10)
    finally:
        writer.close()
    assert writer.stats.quarantined == 1
    with db.unit_of_work(alice.user_id) as conn:
        found = conn.execute("SELECT account_id, source, topic FROM raw_quarantine").fetchall()
    assert found == [(alice.account_id, "trading.writer", "engine_decisions")]
    with db.unit_of_work(bob.user_id) as conn:
        assert conn.execute("SELECT count(*) FROM raw_quarantine").fetchone()[0] == 0


def test_writer_private_rows_of_a_run_are_stored_with_its_run_id(
        db: Database, tmp_path: Path, keyring) -> None:
    """The trading daemon stores its account's orders and executions with its live run;
    positions and wallets have no run column."""
    import json

    from daemons.bybit import private
    from tests.fixtures.tenants import make_tenant

    alice = make_tenant(db, keyring, "alice", events=False)
    samples = Path(__file__).resolve().parents[2] / "fixtures" / "bybit_samples"
    order = json.loads((samples / "ws_order.json").read_text())
    order["data"][0].update(category="linear", symbol="BTCUSDT")
    execution = json.loads((samples / "ws_execution.json").read_text())
    writer = make_writer(db, tmp_path)
    try:
        for message in (order, execution):
            batch = private.decode_message(message, T0 + 60_000)
            writer.put(alice.user_id, rows.PRIVATE_TABLES[batch.topic], [
                row for d in batch.decoded for row in rows.private_rows(
                    d.event, d.extras, d.item, alice.account_id, alice.run_id)])
        assert writer.wait_idle(10)
    finally:
        writer.close()
    with db.unit_of_work(alice.user_id) as conn:
        runs = [conn.execute(f"SELECT run_id FROM {table}").fetchall()
                for table in ("orders", "private_executions")]
    assert runs == [[(alice.run_id,)], [(alice.run_id,)]]
