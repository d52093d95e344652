"""Fast, idempotent writes of captured events: COPY into staging, then insert new rows.

Capture delivers at least once (reconnects replay messages); the tables store exactly
once. Each batch is copied (PostgreSQL binary COPY, psycopg 3) into a per-connection
temporary staging table, then moved into the table skipping rows whose natural key is
already stored: duplicates, against the table or inside the batch, are skipped and every
other row of the batch is stored. Nothing else is swallowed: any other error fails the
whole batch and its transaction.

The move has a fast path and a safe path. Fast: a plain ``INSERT ... SELECT`` of the
whole batch inside a savepoint, the cheapest way into the table. If any row of the batch
is a duplicate (of a stored row, of another row of the batch, or of a row a concurrent
writer just stored), that insert fails with a unique violation, the savepoint is rolled
back, and the batch is moved again with ``INSERT ... ON CONFLICT (natural key) DO
NOTHING``, which skips exactly the duplicates. Fresh batches, the steady state of
capture, take the fast path (measured here about 2x the ``ON CONFLICT`` throughput); a
redelivered batch pays for one wasted attempt, and leaves its dead tuples to autovacuum.
A batch holding any duplicate therefore runs at about two thirds of the fresh rate
(docs/database.md, "Batches with duplicates", has the numbers and the command).

Tenant tables take their ``user_id`` from the unit of work (the column defaults to the
session's user), so the caller writes them inside ``db.unit_of_work(user_id)``, and
row-level security refuses rows of another user's account. Market data is written in
``db.market_data()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb


@dataclass(frozen=True, slots=True)
class EventTable:
    """An event table as the writer sees it: the columns a row gives, the natural key."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def staging(self) -> str:
        return f"_stage_{self.name}"


def _table(name: str, columns: str, key: str) -> EventTable:
    return EventTable(name, tuple(columns.split()), tuple(key.split()))


TABLES: dict[str, EventTable] = {t.name: t for t in (
    _table("public_trades",
           "symbol trade_id exchange_ts local_ts side price size is_block_trade",
           "symbol exchange_ts trade_id"),
    _table("tickers",
           "symbol exchange_ts cross_seq local_ts last_price mark_price index_price bid1_price"
           " bid1_size ask1_price ask1_size funding_rate next_funding_ts open_interest"
           " volume_24h turnover_24h",
           "symbol exchange_ts cross_seq"),
    _table("funding_rates", "symbol exchange_ts local_ts funding_rate mark_price",
           "symbol exchange_ts"),
    _table("orders",
           "account_id run_id symbol order_id order_link_id side order_type price qty"
           " order_status time_in_force reduce_only position_idx cum_exec_qty cum_exec_value"
           " cum_exec_fee leaves_qty created_ts exchange_ts local_ts raw_json",
           # sql/0008: price and qty too, so an amend in the same millisecond is a row
           # (a UNIQUE NULLS NOT DISTINCT key, as price is NULL for a price-less order).
           "account_id order_id exchange_ts order_status cum_exec_qty price qty"),
    _table("private_executions",
           "account_id run_id symbol exec_id order_id order_link_id exchange_ts local_ts side"
           " exec_price exec_qty exec_fee fee_rate exec_type is_maker closed_pnl raw_json",
           "account_id exec_id exchange_ts"),
    _table("positions",
           "account_id symbol position_idx seq side size avg_price mark_price liq_price"
           " position_value leverage unrealised_pnl cum_realised_pnl position_status"
           " exchange_ts local_ts raw_json",
           "account_id symbol position_idx exchange_ts seq"),
    _table("wallets",
           "account_id account_type coin wallet_balance equity available_balance"
           " unrealised_pnl cum_realised_pnl total_initial_margin total_maintenance_margin"
           " exchange_ts local_ts raw_json",
           "account_id coin exchange_ts"),
    _table("engine_decisions",
           "account_id run_id strategy_id seq symbol exchange_ts local_ts trigger_kind"
           " trigger_event intent_kind order_link_id side price qty intent",
           "run_id seq exchange_ts"),
    _table("engine_inputs", "account_id run_id seq kind exchange_ts local_ts event",
           "run_id seq exchange_ts"),
    _table("sim_executions",
           "run_id seq exchange_ts exec_id order_id order_link_id side exec_price exec_qty"
           " exec_fee realised_pnl position_idx",
           "run_id seq"),
)}

_JSON_COLUMNS = frozenset({"raw_json", "trigger_event", "intent", "event"})


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Rows received in a batch and rows actually stored (the rest were duplicates)."""

    received: int
    inserted: int

    @property
    def duplicates(self) -> int:
        return self.received - self.inserted


def copy_events(conn: psycopg.Connection, table: str | EventTable,
                rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> WriteResult:
    """Store a batch of events of ``table``; duplicates (by natural key) are skipped.

    Parameters
    ----------
    conn:
        A connection inside a unit of work (tenant tables) or ``db.market_data()``.
    table:
        A name from :data:`TABLES` or an :class:`EventTable`.
    rows:
        Tuples in ``TABLES[table].columns`` order, or mappings keyed by column name
        (a column no mapping of the batch gives takes its default; one some give is NULL
        where absent). JSON columns take dicts or lists; numeric columns take Decimal
        or int (a float is refused: money is never rounded through binary floating point).
    """
    spec = TABLES[table] if isinstance(table, str) else table
    rows = list(rows)
    if not rows:
        return WriteResult(0, 0)
    columns = spec.columns
    if isinstance(rows[0], Mapping):
        # Columns no row gives are left out, so that the table's defaults apply to them.
        present = set().union(*(row.keys() for row in rows))
        unknown = present - set(spec.columns)
        if unknown:
            raise ValueError(f"{spec.name}: unknown column(s) {', '.join(sorted(unknown))}")
        columns = tuple(c for c in spec.columns if c in present)
        rows = [[row.get(c) for c in columns] for row in rows]
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    with conn.transaction():
        _ensure_staging(conn, spec)
        _copy(conn, spec, columns, column_list, rows)
        inserted = _move(conn, spec, columns, column_list)
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(spec.staging)))
    return WriteResult(len(rows), inserted)


def _move(conn: psycopg.Connection, spec: EventTable, columns: tuple[str, ...],
          column_list: sql.Composable) -> int:
    """Insert the staged rows that are new; return how many (see the module docstring).

    Rows go in key order, so concurrent writers of overlapping batches take their index
    locks in the same order and cannot deadlock each other.
    """
    key = sql.SQL(", ").join(map(sql.Identifier, spec.key))
    names = {"table": sql.Identifier(spec.name), "columns": column_list, "key": key,
             "staging": sql.Identifier(spec.staging)}
    try:
        with conn.transaction():
            return conn.execute(sql.SQL(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ORDER BY {key}"
            ).format(**names)).rowcount
    except psycopg.errors.UniqueViolation:
        pass  # a duplicate somewhere in the batch: take the safe path for this batch
    return conn.execute(sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ORDER BY {key}"
        " ON CONFLICT ({key}) DO NOTHING").format(**names)).rowcount


def _ensure_staging(conn: psycopg.Connection, spec: EventTable) -> None:
    # Every batch: a cache would go stale when an enclosing transaction rolls back.
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE IF NOT EXISTS {staging} AS SELECT {columns} FROM {table} WITH NO DATA"
    ).format(staging=sql.Identifier(spec.staging), table=sql.Identifier(spec.name),
             columns=sql.SQL(", ").join(map(sql.Identifier, spec.columns))))


def _copy(conn: psycopg.Connection, spec: EventTable, columns: tuple[str, ...],
          column_list: sql.Composable, rows: list[Sequence[Any]]) -> None:
    json_at = [i for i, c in enumerate(columns) if c in _JSON_COLUMNS]
    types = _column_types(conn, spec)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(spec.staging), column_list)
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types([types[c] for c in columns])
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    if row[i] is not None:
                        row[i] = Jsonb(row[i])
            copy.write_row(row)


_TYPES: dict[str, dict[str, int]] = {}


def _column_types(conn: psycopg.Connection, spec: EventTable) -> dict[str, int]:
    """Column name -> type oid of the staging table (binary COPY needs them)."""
    types = _TYPES.get(spec.name)
    if types is None:
        rows = conn.execute(
            "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attnum > 0 AND NOT attisdropped", [spec.name]).fetchall()
        types = _TYPES[spec.name] = dict(rows)
    return types


class BatchWriter:
    """Collect events per table and store them with :func:`copy_events` in batches.

    Not thread-safe: one writer per consumer of the capture queue.
    """

    def __init__(self, batch_size: int = 10_000) -> None:
        self.batch_size = batch_size
        self._pending: dict[str, list[Sequence[Any] | Mapping[str, Any]]] = {}

    def __len__(self) -> int:
        """Rows queued and not yet stored."""
        return sum(len(rows) for rows in self._pending.values())

    def add(self, table: str, row: Sequence[Any] | Mapping[str, Any]) -> bool:
        """Queue a row; return True when some table has reached the batch size."""
        bucket = self._pending.setdefault(table, [])
        bucket.append(row)
        return len(bucket) >= self.batch_size

    def flush(self, conn: psycopg.Connection) -> dict[str, WriteResult]:
        """Write every queued row in one transaction; on error, keep them queued."""
        results: dict[str, WriteResult] = {}
        with conn.transaction():
            for table, rows in self._pending.items():
                if rows:
                    results[table] = copy_events(conn, table, rows)
        self._pending.clear()
        return results
