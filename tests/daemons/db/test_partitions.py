"""Monthly partitions: created ahead, strays caught and adopted, old months expired."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from daemons.db import partitions
from daemons.db.copy_writer import copy_events
from daemons.db.session import Database

NOW = datetime(2030, 6, 10, tzinfo=UTC)


def _trade(trade_id: str, ts: datetime) -> tuple:
    return ("BTCUSDT", trade_id, ts, ts, "Buy", Decimal("100.5"), Decimal("0.001"), False)


def test_ensure_partitions_creates_current_and_next_months_once(db: Database) -> None:
    with db.admin() as conn:
        created = partitions.ensure_partitions(conn, months_ahead=2, now=NOW)
        again = partitions.ensure_partitions(conn, months_ahead=2, now=NOW)
        names = partitions.list_partitions(conn, "public_trades")
    assert ("public_trades", "public_trades_p2030_08") in created
    assert again == []
    assert {"public_trades_p2030_06", "public_trades_p2030_07", "public_trades_p2030_08",
            "public_trades_default"} <= set(names)
    assert {t for t, _ in created} == {"public_trades", "tickers", "funding_rates", "orders",
                                       "private_executions", "positions", "wallets",
                                       "engine_decisions", "raw_quarantine", "engine_inputs"}


def test_partition_month_is_a_utc_calendar_month(db: Database) -> None:
    with db.admin() as conn:
        partitions.ensure_partitions(conn, months_ahead=0, now=NOW)
        conn.execute("SET LOCAL TimeZone = 'America/New_York'")
        bound = conn.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class"
            " WHERE relname = 'public_trades_p2030_06'").fetchone()[0]
    assert "2030-05-31 20:00:00-04" in bound and "2030-06-30 20:00:00-04" in bound


def test_insert_without_partition_lands_in_default_and_is_reported(db: Database) -> None:
    stray_ts = datetime(2019, 3, 5, tzinfo=UTC)
    with db.market_data() as conn:
        copy_events(conn, "public_trades", [_trade("t1", stray_ts), _trade("t2", stray_ts)])
    with db.admin() as conn:
        strays = partitions.default_partition_strays(conn)
        where = conn.execute("SELECT tableoid::regclass::text FROM public_trades").fetchall()
    assert [(s.table_name, s.row_count, s.oldest) for s in strays] == [
        ("public_trades", 2, stray_ts)]
    assert where == [("public_trades_default",), ("public_trades_default",)]


def test_adopt_strays_moves_rows_into_their_new_partition(db: Database) -> None:
    stray_ts = datetime(2019, 3, 5, tzinfo=UTC)
    with db.market_data() as conn:
        copy_events(conn, "public_trades", [_trade("t1", stray_ts)])
    with db.admin() as conn:
        adopted = partitions.adopt_strays(conn)
        strays = partitions.default_partition_strays(conn)
        where = conn.execute("SELECT tableoid::regclass::text, trade_id FROM public_trades"
                             ).fetchall()
    assert adopted == [("public_trades", "public_trades_p2019_03")]
    assert strays == [] and where == [("public_trades_p2019_03", "t1")]
    with db.market_data() as conn:  # the moved row still deduplicates
        assert copy_events(conn, "public_trades", [_trade("t1", stray_ts)]).inserted == 0


def test_creating_a_month_with_strays_in_default_moves_them(db: Database) -> None:
    ts = datetime(2030, 9, 1, 0, 0, 1, tzinfo=UTC)
    with db.market_data() as conn:
        copy_events(conn, "public_trades", [_trade("t9", ts)])
    with db.admin() as conn:
        partitions.ensure_partitions(conn, months_ahead=3, now=NOW)
        where = conn.execute("SELECT tableoid::regclass::text FROM public_trades").fetchone()[0]
    assert where == "public_trades_p2030_09"


@pytest.mark.parametrize(("table", "action"), [("public_trades", "archive"), ("tickers", "drop")])
def test_expire_partitions_detaches_months_past_retention(db: Database, table: str,
                                                           action: str) -> None:
    with db.admin() as conn:
        partitions.set_retention(conn, table, 2, action)
        partitions.ensure_partitions(conn, months_ahead=0, months_behind=4, now=NOW)
        expired = partitions.expire_partitions(conn, now=NOW)
        remaining = partitions.list_partitions(conn, table)
        archived = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'archive' ORDER BY 1")]
    # The migration made partitions around the real date, before 2030: they expire too.
    mine = sorted(name for t, name, how in expired if t == table and how == action)
    assert mine[-2:] == [f"{table}_p2030_02", f"{table}_p2030_03"]
    assert all(name[-7:] < "2030_04" for name in mine)
    assert f"{table}_p2030_04" in remaining and f"{table}_p2030_03" not in remaining
    mine_archived = [name for name in archived if name.startswith(f"{table}_p")]
    assert mine_archived == (mine if action == "archive" else [])


def test_expire_partitions_keeps_tables_without_retention(db: Database) -> None:
    with db.admin() as conn:
        partitions.ensure_partitions(conn, months_ahead=0, months_behind=2, now=NOW)
        expired = partitions.expire_partitions(conn, now=NOW)
    assert not {t for t, _, _ in expired} & {"private_executions", "orders", "funding_rates"}


def test_insert_far_in_future_never_fails(db: Database) -> None:
    with db.market_data() as conn:
        result = copy_events(conn, "public_trades",
                             [_trade("future", datetime(2100, 1, 1, tzinfo=UTC))])
    assert result.inserted == 1
