"""Users: the tenants. Created and listed by the operator (admin context)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from daemons.db.errors import AlreadyExists, InvalidInput, NotFound

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
STATUSES = ("active", "suspended", "deleted")
_COLUMNS = "user_id, username, email, status, created_at, updated_at"


@dataclass(frozen=True, slots=True)
class User:
    user_id: UUID
    username: str
    email: str | None
    status: str
    created_at: datetime
    updated_at: datetime


def add_user(conn: psycopg.Connection, username: str, email: str | None = None) -> User:
    """Create a user (admin context: the application role cannot create users)."""
    if not _USERNAME.match(username):
        raise InvalidInput(f"username {username!r}: use 1-63 of a-z, 0-9, '_', '.', '-', "
                           "starting with a letter or digit")
    if email is not None and not _EMAIL.match(email):
        raise InvalidInput(f"email {email!r} is not an e-mail address")
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(User)) as cur:
            cur.execute(f"INSERT INTO users (username, email) VALUES (%s, %s) RETURNING {_COLUMNS}",
                        [username, email])
            return cur.fetchone()
    except psycopg.errors.UniqueViolation as e:
        if "email" in (e.diag.constraint_name or ""):
            raise AlreadyExists(f"email {email!r} is already used by another user") from None
        raise AlreadyExists(f"user {username!r} already exists") from None


def list_users(conn: psycopg.Connection) -> list[User]:
    """Every user visible to ``conn``: all of them in the admin context, self otherwise."""
    with conn.cursor(row_factory=class_row(User)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username").fetchall()


def get_user(conn: psycopg.Connection, name_or_id: str | UUID) -> User:
    """Find a user by username or id; raise :class:`NotFound` naming it."""
    with conn.cursor(row_factory=class_row(User)) as cur:
        user_id = _as_uuid(name_or_id)
        if user_id is not None:
            cur.execute(f"SELECT {_COLUMNS} FROM users WHERE user_id = %s", [user_id])
        else:
            cur.execute(f"SELECT {_COLUMNS} FROM users WHERE username = %s", [str(name_or_id)])
        user = cur.fetchone()
    if user is None:
        raise NotFound(f"unknown user {str(name_or_id)!r}")
    return user


def set_status(conn: psycopg.Connection, user_id: UUID, status: str) -> None:
    """Activate, suspend or delete a user. Operator only: run it in ``db.admin()``; the
    application role may update no column of ``users`` (sql/0008), so a suspended user's
    own unit of work cannot make it active again."""
    if status not in STATUSES:
        raise InvalidInput(f"user status {status!r}: use one of {', '.join(STATUSES)}")
    cur = conn.execute("UPDATE users SET status = %s WHERE user_id = %s", [status, user_id])
    if cur.rowcount != 1:
        raise NotFound(f"unknown user {str(user_id)!r}")


def _as_uuid(value: str | UUID) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except ValueError:
        return None
