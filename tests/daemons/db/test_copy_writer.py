"""The COPY batch writer: at-least-once in, exactly-once stored, nothing else swallowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from daemons.db.copy_writer import TABLES, BatchWriter, copy_events
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from tests.fixtures.tenants import T0, make_tenant


def _trades(first: int, count: int) -> list[tuple]:
    return [("BTCUSDT", f"t{i}", T0 + timedelta(milliseconds=i), T0 + timedelta(milliseconds=i + 3),
             "Buy" if i % 2 else "Sell", Decimal("64000.12345678"), Decimal("0.00100000"), False)
            for i in range(first, first + count)]


def _count(db: Database, table: str) -> int:
    with db.admin() as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_copy_events_redelivered_batch_stores_each_trade_once(db: Database) -> None:
    with db.market_data() as conn:
        first = copy_events(conn, "public_trades", _trades(0, 500))
        overlap = copy_events(conn, "public_trades", _trades(250, 500))
    assert (first.received, first.inserted) == (500, 500)
    assert (overlap.received, overlap.inserted, overlap.duplicates) == (500, 250, 250)
    assert _count(db, "public_trades") == 750


def test_copy_events_duplicates_inside_one_batch_keep_the_rest(db: Database) -> None:
    batch = _trades(0, 10) + _trades(5, 10)
    with db.market_data() as conn:
        result = copy_events(conn, "public_trades", batch)
    assert (result.received, result.inserted) == (20, 15)


def test_copy_events_values_round_trip_exactly(db: Database) -> None:
    with db.market_data() as conn:
        copy_events(conn, "public_trades", _trades(7, 1))
        row = conn.execute("SELECT symbol, trade_id, exchange_ts, local_ts, side, price, size"
                           " FROM public_trades").fetchone()
    assert row == ("BTCUSDT", "t7", T0 + timedelta(milliseconds=7),
                   T0 + timedelta(milliseconds=10), "Buy", Decimal("64000.12345678"),
                   Decimal("0.00100000"))


def test_copy_events_invalid_row_fails_the_whole_batch(db: Database) -> None:
    batch = _trades(0, 5)
    batch[3] = batch[3][:4] + ("Sideways",) + batch[3][5:]
    with pytest.raises(psycopg.errors.CheckViolation), db.market_data() as conn:
        copy_events(conn, "public_trades", batch)
    assert _count(db, "public_trades") == 0


def test_copy_events_tenant_rows_take_user_from_the_unit_of_work(
        db: Database, keyring: Keyring) -> None:
    alice = make_tenant(db, keyring, "alice", events=False)
    execution = {"account_id": alice.account_id, "symbol": "BTCUSDT", "exec_id": "e1",
                 "order_id": "o1", "exchange_ts": T0, "local_ts": T0, "side": "Sell",
                 "exec_price": Decimal("1.5"), "exec_qty": Decimal("2"), "raw_json": {"a": 1}}
    with db.unit_of_work(alice.user_id) as conn:
        assert copy_events(conn, "private_executions", [execution]).inserted == 1
        assert copy_events(conn, "private_executions", [execution]).inserted == 0
        row = conn.execute("SELECT user_id, exec_type, raw_json FROM private_executions"
                           ).fetchone()
    assert row == (alice.user_id, "Trade", {"a": 1})  # default applied, JSON stored


def test_copy_events_into_other_users_account_is_refused(db: Database, keyring: Keyring) -> None:
    alice = make_tenant(db, keyring, "alice", events=False)
    bob = make_tenant(db, keyring, "bob", events=False)
    wallet = {"account_id": bob.account_id, "coin": "USDT", "wallet_balance": Decimal("1"),
              "exchange_ts": T0, "local_ts": T0}
    with pytest.raises(psycopg.errors.ForeignKeyViolation), db.unit_of_work(alice.user_id) as conn:
        copy_events(conn, "wallets", [wallet])
    assert _count(db, "wallets") == 0


def test_copy_events_unknown_column_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="unknown column"), db.market_data() as conn:
        copy_events(conn, "funding_rates", [{"symbol": "X", "rate": 1}])


def test_batch_writer_flushes_several_tables_in_one_transaction(db: Database) -> None:
    writer = BatchWriter(batch_size=3)
    for row in _trades(0, 2):
        assert writer.add("public_trades", row) is False
    assert writer.add("public_trades", _trades(2, 1)[0]) is True
    writer.add("funding_rates", ("BTCUSDT", datetime(2026, 1, 1, 8, tzinfo=UTC), T0,
                                 Decimal("0.0001"), None))
    with db.market_data() as conn:
        results = writer.flush(conn)
    assert {t: r.inserted for t, r in results.items()} == {"public_trades": 3, "funding_rates": 1}
    with db.market_data() as conn:
        assert writer.flush(conn) == {}


def test_batch_writer_failed_flush_keeps_rows_queued(db: Database) -> None:
    writer = BatchWriter()
    bad = _trades(0, 1)[0][:5] + (Decimal("-1"),) + _trades(0, 1)[0][6:]
    writer.add("public_trades", bad)
    with pytest.raises(psycopg.errors.CheckViolation), db.market_data() as conn:
        writer.flush(conn)
    assert len(writer) == 1
    assert _count(db, "public_trades") == 0


def test_copy_events_float_money_is_refused(db: Database) -> None:
    """Prices are Decimal on the wire and at rest: a float is a bug upstream, not rounded."""
    row = _trades(0, 1)[0][:5] + (64000.1,) + _trades(0, 1)[0][6:]
    with pytest.raises(TypeError, match="float"), db.market_data() as conn:
        copy_events(conn, "public_trades", [row])


def test_copy_events_accepts_int_quantities(db: Database) -> None:
    row = _trades(0, 1)[0][:5] + (64000, 2) + _trades(0, 1)[0][7:]
    with db.market_data() as conn:
        assert copy_events(conn, "public_trades", [row]).inserted == 1


def test_quarantine_keeps_public_and_private_messages_verbatim(
        db: Database, keyring: Keyring) -> None:
    from daemons.db.quarantine import quarantine

    alice = make_tenant(db, keyring, "alice", events=False)
    with db.market_data() as conn:
        quarantine(conn, source="ws.public", topic="publicTrade.BTCUSDT", payload=b"{\xff",
                   error="invalid JSON", local_ts=T0)
    with db.unit_of_work(alice.user_id) as conn:
        quarantine(conn, source="ws.private", topic="order", payload='{"orderId": null}',
                   error="orderId missing", local_ts=T0, account_id=alice.account_id)
        rows = conn.execute("SELECT user_id, payload, error FROM raw_quarantine ORDER BY id"
                            ).fetchall()
    assert rows == [(None, "{\ufffd", "invalid JSON"),
                    (alice.user_id, '{"orderId": null}', "orderId missing")]


def test_copy_events_concurrent_writers_with_overlapping_batches_store_once(
        db: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    batches = [_trades(start, 2000) for start in (0, 1000, 500, 1500)]  # heavy overlap

    def write(rows: list[tuple]) -> int:
        with db.market_data() as conn:
            return copy_events(conn, "public_trades", rows).inserted

    with ThreadPoolExecutor(4) as pool:
        inserted = sum(pool.map(write, batches))
    assert inserted == _count(db, "public_trades") == 3500


def _order(account_id: object, *, price: str | None = "100", qty: str = "0.01",
           status: str = "New", order_type: str = "Limit") -> dict:
    """One update of order o-7, all stamped in the same millisecond (T0)."""
    return {"account_id": account_id, "symbol": "BTCUSDT", "order_id": "o-7", "side": "Buy",
            "order_type": order_type, "price": None if price is None else Decimal(price),
            "qty": Decimal(qty), "order_status": status, "cum_exec_qty": Decimal(0),
            "exchange_ts": T0, "local_ts": T0}


def _orders(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT order_type, price, qty FROM orders WHERE order_id = 'o-7'"
                        " ORDER BY order_type, price NULLS FIRST, qty").fetchall()


def test_copy_events_order_amend_in_the_same_millisecond_is_stored_as_its_own_row(
        db: Database, keyring: Keyring) -> None:
    """An amend (new price or qty) stamped in the same ms, with the same status and executed
    quantity, is an order update of its own (sql/0008): fast path and ON CONFLICT path."""
    alice = make_tenant(db, keyring, "alice", events=False)
    placed = _order(alice.account_id)
    repriced = _order(alice.account_id, price="101")
    resized = _order(alice.account_id, qty="0.02")
    with db.unit_of_work(alice.user_id) as conn:
        assert copy_events(conn, "orders", [placed]).inserted == 1
        assert copy_events(conn, "orders", [repriced]).inserted == 1  # fresh: plain insert
        # a redelivered row in the batch: the ON CONFLICT path keeps the amend
        result = copy_events(conn, "orders", [placed, resized])
        assert (result.received, result.inserted) == (2, 1)
        rows = _orders(conn)
    assert rows == [("Limit", Decimal("100"), Decimal("0.01")),
                    ("Limit", Decimal("100"), Decimal("0.02")),
                    ("Limit", Decimal("101"), Decimal("0.01"))]


def test_copy_events_true_duplicate_order_update_is_still_dropped(
        db: Database, keyring: Keyring) -> None:
    """The same update delivered twice is one row, a price-less (NULL price) one too."""
    alice = make_tenant(db, keyring, "alice", events=False)
    limit = _order(alice.account_id)
    market = _order(alice.account_id, price=None, order_type="Market")
    with db.unit_of_work(alice.user_id) as conn:
        inside = copy_events(conn, "orders", [limit, dict(limit), market, dict(market)])
        again = copy_events(conn, "orders", [limit, market])
        rows = _orders(conn)
    assert (inside.received, inside.inserted) == (4, 2)
    assert (again.received, again.inserted) == (2, 0)
    assert rows == [("Limit", Decimal("100"), Decimal("0.01")),
                    ("Market", None, Decimal("0.01"))]


def test_copy_events_same_trade_or_exec_id_at_another_time_is_stored_twice(
        db: Database, keyring: Keyring) -> None:
    """Documented deviation (docs/database.md, "Why the partition key is in every unique
    key"): the keys hold the exchange time, so an id re-stamped with another time is a
    second row. Bybit does not re-stamp; this pins the behaviour until the keys change."""
    trade = _trades(0, 1)[0]
    restamped = trade[:2] + (trade[2] + timedelta(milliseconds=1),) + trade[3:]
    with db.market_data() as conn:
        assert copy_events(conn, "public_trades", [trade]).inserted == 1
        assert copy_events(conn, "public_trades", [restamped]).inserted == 1
        assert copy_events(conn, "public_trades", [trade, restamped]).inserted == 0
        trades = conn.execute("SELECT trade_id, exchange_ts FROM public_trades"
                              " ORDER BY exchange_ts").fetchall()
    assert trades == [("t0", trade[2]), ("t0", restamped[2])]

    alice = make_tenant(db, keyring, "alice", events=False)
    execution = {"account_id": alice.account_id, "symbol": "BTCUSDT", "exec_id": "e-9",
                 "order_id": "o-9", "exchange_ts": T0, "local_ts": T0, "side": "Buy",
                 "exec_price": Decimal("100"), "exec_qty": Decimal("0.01")}
    later = {**execution, "exchange_ts": T0 + timedelta(seconds=1)}
    with db.unit_of_work(alice.user_id) as conn:
        assert copy_events(conn, "private_executions", [execution, later]).inserted == 2
        assert copy_events(conn, "private_executions", [execution, later]).inserted == 0
        executions = conn.execute("SELECT exec_id, exchange_ts FROM private_executions"
                                  " ORDER BY exchange_ts").fetchall()
    assert executions == [("e-9", T0), ("e-9", T0 + timedelta(seconds=1))]


def test_copy_writer_natural_keys_are_unique_keys_of_their_tables(db: Database) -> None:
    """ON CONFLICT (key) needs a unique constraint or index on exactly those columns."""
    with db.admin() as conn:
        for table, spec in TABLES.items():
            keys = conn.execute(
                "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = %s::regclass AND i.indisunique GROUP BY i.indexrelid",
                [table]).fetchall()
            assert sorted(spec.key) in [k for (k,) in keys], table
