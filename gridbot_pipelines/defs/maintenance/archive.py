"""Expired partitions, from the ``archive`` schema to Parquet files, then dropped.

``gridbot_expire_partitions()`` (``sql/0003``) detaches a month past its table's retention
and, for tables whose policy says ``archive``, moves it to the ``archive`` schema. From
there each table is written to ``$GRIDBOT_HOME/archive/<table>/<partition>.parquet``,
read through SQLAlchemy in chunks into pandas and written by pyarrow with a schema taken
from the table's column types (so every chunk has the same one: NUMERIC(p, s) as
decimals of that precision, times as UTC microseconds, UUIDs and JSON as text). The file
is written under a temporary name, its row count read back from the Parquet footer, and
only when it equals the table's own count is the file renamed into place and the table
dropped, in that order: nothing is lost if the run dies anywhere in between (the table
stays in ``archive`` and the next run writes it again).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

ARCHIVE_SCHEMA = "archive"
CHUNK_ROWS = 100_000
_PARTITION = re.compile(r"(?P<table>[a-z_]+)_p(?P<year>\d{4})_(?P<month>\d{2})")


class ArchiveMismatch(RuntimeError):
    """A Parquet file does not hold every row of its table: the table is kept."""


@dataclass(frozen=True)
class Archived:
    """One partition written to Parquet and dropped."""

    partition: str
    path: Path
    rows: int


def archived_tables(conn: sa.Connection) -> list[str]:
    """The partitions waiting in the ``archive`` schema, by name."""
    return sorted(sa.inspect(conn).get_table_names(schema=ARCHIVE_SCHEMA))


def archive_path(root: Path, partition: str) -> Path:
    """``root/<table>/<partition>.parquet`` (``orders_p2025_01`` is of ``orders``)."""
    match = _PARTITION.fullmatch(partition)
    table = match["table"] if match else partition
    return root / table / f"{partition}.parquet"


def export_and_drop(conn: sa.Connection, partition: str, root: Path) -> Archived:
    """Write ``archive.<partition>`` to Parquet, check its rows, drop it (module doc)."""
    table = sa.Table(partition, sa.MetaData(), schema=ARCHIVE_SCHEMA, autoload_with=conn)
    path = archive_path(root, partition)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    schema = pa.schema([pa.field(c.name, _arrow_type(c.type), c.nullable)
                        for c in table.columns])
    with pq.ParquetWriter(partial, schema) as writer:
        for chunk in pd.read_sql(sa.select(table), conn, chunksize=CHUNK_ROWS,
                                 coerce_float=False):
            writer.write_table(pa.Table.from_pandas(_plain(chunk, table), schema=schema,
                                                    preserve_index=False))
    rows = verify_rows(conn, table, partial)
    os.replace(partial, path)
    table.drop(conn)
    return Archived(partition, path, rows)


def verify_rows(conn: sa.Connection, table: sa.Table, path: Path) -> int:
    """The table's row count, if the Parquet file at ``path`` holds as many; else raise."""
    stored = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    written = pq.ParquetFile(path).metadata.num_rows
    if written != stored:
        raise ArchiveMismatch(f"{table.schema}.{table.name}: {stored} rows in the table, "
                              f"{written} in {path}; the table is kept")
    return stored


def _arrow_type(sql_type: Any) -> pa.DataType:
    if isinstance(sql_type, sa.Numeric) and not isinstance(sql_type, sa.Float):
        if sql_type.precision is None:
            return pa.string()  # unbounded NUMERIC: exact digits as text
        return pa.decimal128(sql_type.precision, sql_type.scale or 0)
    if isinstance(sql_type, sa.DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(sql_type, sa.Boolean):
        return pa.bool_()
    if isinstance(sql_type, sa.SmallInteger):
        return pa.int16()
    if isinstance(sql_type, sa.BigInteger):
        return pa.int64()
    if isinstance(sql_type, sa.Integer):
        return pa.int32()
    if isinstance(sql_type, sa.Float):
        return pa.float64()
    return pa.string()  # text, uuid, jsonb


def _plain(chunk: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    """Values pyarrow takes for the schema above: UUIDs, JSON and unbounded numerics as
    text (None stays None)."""
    for column in table.columns:
        kind = column.type
        if isinstance(kind, postgresql.JSONB | sa.JSON):
            convert = json.dumps
        elif isinstance(kind, sa.Uuid) or (isinstance(kind, sa.Numeric)
                                          and not isinstance(kind, sa.Float)
                                          and kind.precision is None):
            convert = str
        else:
            continue
        chunk[column.name] = chunk[column.name].map(
            lambda v, f=convert: None if v is None else f(v)).astype(object)
    return chunk
