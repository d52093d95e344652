"""event_table_partitions: months ahead created, expired months archived to Parquet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from daemons.db import partitions
from daemons.db.copy_writer import copy_events
from daemons.db.session import Database, sqlalchemy_url
from daemons.db.settings import gridbot_home
from gridbot_pipelines.defs.maintenance.archive import ArchiveMismatch, verify_rows
from gridbot_pipelines.defs.maintenance.assets import event_table_partitions
from gridbot_pipelines.resources import DatabaseResource

pytestmark = pytest.mark.timeout(300)


def _month(offset: int) -> datetime:
    """The first instant of the UTC month ``offset`` months from this one."""
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _exists(db: Database, schema: str, name: str) -> bool:
    with db.admin() as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                            [f"{schema}.{name}"]).fetchone()[0]


def test_event_table_partitions_archives_expired_months_and_keeps_months_ahead(
        pipeline_db: Database) -> None:
    old = _month(-3)
    name = f"public_trades_p{old:%Y_%m}"
    trades = [{"symbol": "BTCUSDT", "trade_id": f"t{n}", "exchange_ts": old + timedelta(
        minutes=n), "local_ts": old + timedelta(minutes=n, milliseconds=40),
        "side": "Buy" if n % 2 else "Sell", "price": Decimal("42000.5") + n,
        "size": Decimal("0.00100001")} for n in range(250)]
    with pipeline_db.admin() as conn:
        partitions.ensure_partitions(conn, months_ahead=0, months_behind=3)
        partitions.set_retention(conn, "public_trades", 2, "archive")
        partitions.set_retention(conn, "tickers", 2, "drop")
        conn.execute("DROP TABLE tickers_p" + f"{_month(3):%Y_%m}")  # a month ahead missing
    with pipeline_db.market_data() as conn:
        copy_events(conn, "public_trades", trades)
        copy_events(conn, "tickers", [{"symbol": "BTCUSDT", "exchange_ts": old,
                                       "local_ts": old, "last_price": Decimal(1)}])

    result = dg.materialize([event_table_partitions], resources={"database": DatabaseResource()})

    assert result.success
    meta = {k: v.value for k, v in result.asset_materializations_for_node(
        "event_table_partitions")[0].metadata.items()}
    assert f"tickers_p{_month(3):%Y_%m}" in meta["created"]
    assert f"{name} (archive)" in meta["expired"] and f"tickers_p{old:%Y_%m} (drop)" in \
        meta["expired"]
    assert meta["archived_rows"] == 250
    path = gridbot_home() / "archive" / "public_trades" / f"{name}.parquet"
    assert meta["archived"] == {name: {"rows": 250, "file": str(path)}}
    assert not _exists(pipeline_db, "archive", name)
    assert not _exists(pipeline_db, "public", name)
    assert not list(path.parent.glob("*.partial"))
    frame = pd.read_parquet(path).sort_values("trade_id", key=lambda s: s.str[1:].astype(int))
    assert list(frame["trade_id"]) == [t["trade_id"] for t in trades]
    assert list(frame["price"]) == [t["price"] for t in trades]  # exact decimals
    assert pq.read_schema(path).field("price").type == pa.decimal128(20, 8)
    assert list(frame["exchange_ts"]) == [pd.Timestamp(t["exchange_ts"]) for t in trades]

    again = dg.materialize([event_table_partitions], resources={"database": DatabaseResource()})
    meta = {k: v.value for k, v in again.asset_materializations_for_node(
        "event_table_partitions")[0].metadata.items()}
    assert (meta["created"], meta["expired"], meta["archived_rows"]) == ([], [], 0)


def test_verify_rows_refuses_a_file_missing_a_row_and_keeps_the_table(
        pipeline_db: Database, tmp_path: Path) -> None:
    engine = sa.create_engine(sqlalchemy_url(pipeline_db.admin_url, "psycopg"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE archive.verify_probe AS"
                                 " SELECT generate_series(1, 10) AS n")
            table = sa.Table("verify_probe", sa.MetaData(), schema="archive",
                             autoload_with=conn)
            short = tmp_path / "short.parquet"
            pq.write_table(pa.table({"n": list(range(1, 10))}), short)
            with pytest.raises(ArchiveMismatch, match="10 rows in the table, 9 in"):
                verify_rows(conn, table, short)
            full = tmp_path / "full.parquet"
            pq.write_table(pa.table({"n": list(range(1, 11))}), full)
            assert verify_rows(conn, table, full) == 10
            conn.exec_driver_sql("DROP TABLE archive.verify_probe")
    finally:
        engine.dispose()
