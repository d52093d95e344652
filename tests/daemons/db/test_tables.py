"""The SQLAlchemy description of the tables (daemons/db/tables.py) equals the migrations."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from daemons.db.session import Database, sqlalchemy_url
from daemons.db.tables import metadata

_DIALECT = postgresql.dialect()


def _described(table: sa.Table) -> dict[str, Any]:
    """What must match: columns (type, nullability), primary, unique and foreign keys."""
    return {
        "columns": {c.name: (str(c.type.compile(dialect=_DIALECT)), c.nullable)
                    for c in table.columns},
        "primary_key": tuple(c.name for c in table.primary_key.columns),
        "unique": sorted(tuple(c.name for c in u.columns) for u in table.constraints
                         if isinstance(u, sa.UniqueConstraint)),
        "foreign_keys": sorted(
            (tuple(fk.column_keys), fk.elements[0].column.table.name,
             tuple(e.column.name for e in fk.elements))
            for fk in table.foreign_key_constraints),
    }


def _partition(name: str) -> bool:
    """A monthly or DEFAULT partition: described by its parent."""
    return name.endswith("_default") or "_p20" in name or "_p19" in name


def _reflected(db: Database) -> dict[str, dict[str, Any]]:
    engine = sa.create_engine(sqlalchemy_url(db.admin_url, "psycopg"))
    try:
        reflected = sa.MetaData()
        reflected.reflect(engine, schema=None)
    finally:
        engine.dispose()
    return {name: _described(table) for name, table in reflected.tables.items()
            if not _partition(name)}


def _differences(expected: dict[str, dict[str, Any]],
                 actual: dict[str, dict[str, Any]]) -> list[str]:
    found = [f"table {name}: only in the migrations" for name in sorted(set(actual) - set(
        expected))] + [f"table {name}: only in tables.py" for name in sorted(set(expected)
                                                                            - set(actual))]
    for name in sorted(set(expected) & set(actual)):
        for part in expected[name]:
            if expected[name][part] != actual[name][part]:
                found.append(f"{name}.{part}: tables.py {expected[name][part]!r}, "
                             f"migrations {actual[name][part]!r}")
    return found


def test_tables_metadata_equals_migrated_schema(db: Database) -> None:
    described = {name: _described(table) for name, table in metadata.tables.items()}
    assert _differences(described, _reflected(db)) == []


def test_tables_comparison_reports_a_changed_column_and_a_missing_table(db: Database) -> None:
    described = {name: _described(table) for name, table in metadata.tables.items()}
    described["public_trades"]["columns"]["price"] = ("NUMERIC(20, 4)", False)
    del described["tickers"]
    found = _differences(described, _reflected(db))
    assert any(line.startswith("public_trades.columns") for line in found)
    assert "table tickers: only in the migrations" in found and len(found) == 2
