"""Bybit accounts: each belongs to one user, named uniquely within that user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from daemons.db.errors import AlreadyExists, InvalidInput, NotFound
from daemons.db.users import check_name, get_user

ENVIRONMENTS = ("mainnet", "testnet", "local")
STATUSES = ("enabled", "disabled", "error")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_COLUMNS = ("a.account_id, a.user_id, u.username, a.account_name, a.environment, a.status,"
            " a.created_at")
_FROM = "bybit_accounts a JOIN users u USING (user_id)"


@dataclass(frozen=True, slots=True)
class Account:
    account_id: UUID
    user_id: UUID
    username: str
    account_name: str
    environment: str
    status: str
    created_at: datetime


def add_account(conn: psycopg.Connection, user_id: UUID, name: str, environment: str) -> Account:
    """Create an account for ``user_id`` (in that user's unit of work, or admin)."""
    check_name("account name", name, _NAME, "use 1-63 of A-Z, a-z, 0-9, '_', '.', '-'")
    if environment not in ENVIRONMENTS:
        raise InvalidInput(f"environment {environment!r}: use one of {', '.join(ENVIRONMENTS)}")
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO bybit_accounts (user_id, account_name, environment)"
                " VALUES (%s, %s, %s) RETURNING account_id", [user_id, name, environment],
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise AlreadyExists(f"account {name!r} already exists for this user") from None
    return get_account(conn, row[0])


def list_accounts(conn: psycopg.Connection, user_id: UUID | None = None) -> list[Account]:
    """Accounts visible to ``conn``, optionally of one user, by user then name."""
    where, params = ("WHERE a.user_id = %s", [user_id]) if user_id is not None else ("", [])
    with conn.cursor(row_factory=class_row(Account)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM {_FROM} {where}"
                           " ORDER BY u.username, a.account_name", params).fetchall()


def get_account(conn: psycopg.Connection, account_id: UUID) -> Account:
    with conn.cursor(row_factory=class_row(Account)) as cur:
        account = cur.execute(f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.account_id = %s",
                              [account_id]).fetchone()
    if account is None:
        raise NotFound(f"unknown account {str(account_id)!r}")
    return account


def resolve_account(conn: psycopg.Connection, account: str, username: str | None = None) -> Account:
    """Find an account by name, or by name within ``username``'s accounts (never by id:
    :func:`get_account` takes ids, so a name cannot stand for another tenant's account).

    An unknown user is named as such (not as a missing account), and a name shared by
    several users is refused with the list of owners, so an operator command never acts
    on the wrong user's account.
    """
    owner_id = get_user(conn, username).user_id if username is not None else None
    with conn.cursor(row_factory=class_row(Account)) as cur:
        matches = cur.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.account_name = %s"
            " AND (%s::uuid IS NULL OR a.user_id = %s) ORDER BY u.username",
            [account, owner_id, owner_id]).fetchall()
    if not matches:
        of_owner = f" of user {username!r}" if username is not None else ""
        raise NotFound(f"unknown account {account!r}{of_owner}")
    if len(matches) > 1:
        owners = ", ".join(m.username for m in matches)
        raise InvalidInput(f"account name {account!r} is used by several users ({owners}): "
                           "pass --user")
    return matches[0]


def set_status(conn: psycopg.Connection, account_id: UUID, status: str) -> None:
    """Enable, disable or flag an account."""
    if status not in STATUSES:
        raise InvalidInput(f"account status {status!r}: use one of {', '.join(STATUSES)}")
    cur = conn.execute("UPDATE bybit_accounts SET status = %s WHERE account_id = %s",
                       [status, account_id])
    if cur.rowcount != 1:
        raise NotFound(f"unknown account {str(account_id)!r}")
