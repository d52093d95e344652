"""Strategies: one grid per account and symbol, its config validated by gridcore."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from daemons.db.errors import AlreadyExists, InvalidInput, NotFound
from gridcore.config import ConfigError, GridConfig

_SYMBOL = re.compile(r"[A-Z0-9]{2,32}")
_COLUMNS = ("strategy_id, user_id, account_id, strategy_type, symbol, config_json, is_enabled,"
            " created_at, mode, caps, latch_reason")
MODES = ("live", "shadow")


@dataclass(frozen=True, slots=True)
class Strategy:
    strategy_id: int
    user_id: UUID
    account_id: UUID
    strategy_type: str
    symbol: str
    config_json: dict[str, Any]
    is_enabled: bool
    created_at: datetime
    mode: str = "live"
    caps: dict[str, Any] | None = None
    latch_reason: str | None = None

    @property
    def config(self) -> GridConfig:
        return GridConfig.from_mapping(self.config_json)


def validate_config(values: Mapping[str, Any]) -> GridConfig:
    """Validate with gridcore; the error names the field (``InvalidInput``)."""
    try:
        return GridConfig.from_mapping(values)
    except ConfigError as e:
        raise InvalidInput(f"invalid config: {e}") from None


def check_symbol(symbol: str) -> None:
    """Refuse what cannot be a Bybit linear symbol (``InvalidInput``)."""
    if not _SYMBOL.fullmatch(symbol):
        shown = symbol if len(symbol) <= 40 else symbol[:37] + "..."
        raise InvalidInput(f"symbol {shown!r}: use 2-32 of A-Z and 0-9, e.g. BTCUSDT")


def add_strategy(conn: psycopg.Connection, account_id: UUID, symbol: str,
                 config: Mapping[str, Any]) -> Strategy:
    """Store a validated grid config for ``account_id`` and ``symbol``."""
    check_symbol(symbol)
    checked = validate_config(config).to_mapping()
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(Strategy)) as cur:
            strategy = cur.execute(
                "INSERT INTO strategies (user_id, account_id, symbol, config_json)"
                " SELECT user_id, account_id, %s, %s FROM bybit_accounts WHERE account_id = %s"
                f" RETURNING {_COLUMNS}", [symbol, Jsonb(checked), account_id]).fetchone()
    except psycopg.errors.UniqueViolation:
        raise AlreadyExists(f"the account already has a strategy for {symbol}") from None
    if strategy is None:
        raise NotFound(f"unknown account {str(account_id)!r}")
    return strategy


def list_strategies(conn: psycopg.Connection, account_id: UUID | None = None,
                    user_id: UUID | None = None) -> list[Strategy]:
    """Strategies visible to ``conn``, optionally of one account and/or one user."""
    with conn.cursor(row_factory=class_row(Strategy)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM strategies"
                           " WHERE (%s::uuid IS NULL OR account_id = %s)"
                           " AND (%s::uuid IS NULL OR user_id = %s)"
                           " ORDER BY strategy_id", [account_id] * 2 + [user_id] * 2).fetchall()


def set_enabled(conn: psycopg.Connection, strategy_id: int, enabled: bool) -> None:
    """Enable or disable a strategy (RLS: only its owner's unit of work finds it)."""
    cur = conn.execute("UPDATE strategies SET is_enabled = %s WHERE strategy_id = %s",
                       [enabled, strategy_id])
    if cur.rowcount != 1:
        raise NotFound(f"unknown strategy {strategy_id}")


def get_strategy(conn: psycopg.Connection, strategy_id: int) -> Strategy:
    with conn.cursor(row_factory=class_row(Strategy)) as cur:
        strategy = cur.execute(f"SELECT {_COLUMNS} FROM strategies WHERE strategy_id = %s",
                               [strategy_id]).fetchone()
    if strategy is None:
        raise NotFound(f"unknown strategy {strategy_id}")
    return strategy


def set_mode(conn: psycopg.Connection, strategy_id: int, mode: str) -> None:
    """Trade a strategy live or in shadow (operator, admin context); daemons pick it up at
    their next refresh."""
    if mode not in MODES:
        raise InvalidInput(f"mode {mode!r}: use one of {', '.join(MODES)}")
    _update(conn, strategy_id, "mode = %s", [mode])


def set_caps(conn: psycopg.Connection, strategy_id: int, caps: Mapping[str, Any]) -> None:
    """Store a strategy's safety caps (validated by the caller: daemons.trading.runtime)."""
    _update(conn, strategy_id, "caps = %s", [Jsonb(dict(caps))])


def clear_latch(conn: psycopg.Connection, strategy_id: int) -> str | None:
    """Clear a latched safety cap; return the reason it was latched for (None: it was not)."""
    row = conn.execute("SELECT latch_reason FROM strategies WHERE strategy_id = %s",
                       [strategy_id]).fetchone()
    if row is None:
        raise NotFound(f"unknown strategy {strategy_id}")
    conn.execute("UPDATE strategies SET latched_at = NULL, latch_reason = NULL"
                 " WHERE strategy_id = %s", [strategy_id])
    return row[0]


def _update(conn: psycopg.Connection, strategy_id: int, assignment: str,
            values: list[Any]) -> None:
    cur = conn.execute(f"UPDATE strategies SET {assignment} WHERE strategy_id = %s",
                       [*values, strategy_id])
    if cur.rowcount != 1:
        raise NotFound(f"unknown strategy {strategy_id}")
