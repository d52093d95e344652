"""Users: the tenants. Created, listed and edited by the operator (admin context).

Names and ids are separate namespaces: a user is looked up by username only
(:func:`get_user`) or by id only (:func:`get_user_by_id`), and a username that would
parse as a UUID is refused, so a name can never be taken for another tenant's id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from daemons.db.errors import AlreadyExists, InvalidInput, NotFound

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
#: The WHATWG HTML rule for an e-mail address (what browsers accept in type=email): a
#: local part of letters, digits and ``.!#$%&'*+/=?^_`{|}~-``, an ``@``, and dot-separated
#: host labels of letters, digits and inner hyphens. No spaces, quotes, brackets or
#: control characters; at most 254 characters (RFC 5321's path limit), local part 64.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
                    re.ASCII)
MAX_EMAIL_CHARS = 254
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
    check_name("username", username, _USERNAME, "use 1-63 of a-z, 0-9, '_', '.', '-', "
               "starting with a letter or digit")
    _check_email(email)
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(User)) as cur:
            cur.execute(f"INSERT INTO users (username, email) VALUES (%s, %s) RETURNING {_COLUMNS}",
                        [username, email])
            return cur.fetchone()
    except psycopg.errors.UniqueViolation as e:
        if "email" in (e.diag.constraint_name or ""):
            raise AlreadyExists(f"email {email!r} is already used by another user") from None
        raise AlreadyExists(f"user {username!r} already exists") from None


def set_email(conn: psycopg.Connection, user_id: UUID, email: str | None) -> None:
    """Change (or with None, remove) a user's e-mail address (admin context)."""
    _check_email(email)
    try:
        with conn.transaction():
            cur = conn.execute("UPDATE users SET email = %s WHERE user_id = %s",
                               [email, user_id])
    except psycopg.errors.UniqueViolation:
        raise AlreadyExists(f"email {email!r} is already used by another user") from None
    if cur.rowcount != 1:
        raise NotFound(f"unknown user id {str(user_id)!r}")


def list_users(conn: psycopg.Connection) -> list[User]:
    """Every user visible to ``conn``: all of them in the admin context, self otherwise."""
    with conn.cursor(row_factory=class_row(User)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username").fetchall()


def get_user(conn: psycopg.Connection, username: str) -> User:
    """Find a user by username (never by id); raise :class:`NotFound` naming it."""
    return _find(conn, "username", username, f"unknown user {username!r}")


def get_user_by_id(conn: psycopg.Connection, user_id: UUID) -> User:
    """Find a user by id; raise :class:`NotFound` naming it."""
    return _find(conn, "user_id", user_id, f"unknown user id {str(user_id)!r}")


def _find(conn: psycopg.Connection, column: str, value: object, missing: str) -> User:
    with conn.cursor(row_factory=class_row(User)) as cur:
        user = cur.execute(f"SELECT {_COLUMNS} FROM users WHERE {column} = %s",
                           [value]).fetchone()
    if user is None:
        raise NotFound(missing)
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


def check_name(what: str, name: str, pattern: re.Pattern[str], rule: str) -> None:
    """Refuse a name that breaks ``pattern`` or would parse as a UUID (an id's shape)."""
    if not pattern.fullmatch(name):
        raise InvalidInput(f"{what} {name!r}: {rule}")
    if is_uuid_shaped(name):
        raise InvalidInput(f"{what} {name!r}: looks like an id (UUID); choose another name")


def is_uuid_shaped(text: str) -> bool:
    """Whether ``UUID(text)`` accepts ``text`` (32 hex digits, hyphens anywhere)."""
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _check_email(email: str | None) -> None:
    if email is None:
        return
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
        shown = email if len(email) <= 80 else email[:77] + "..."
        raise InvalidInput(f"email {shown!r} is not an e-mail address (name@host.example, "
                           f"at most {MAX_EMAIL_CHARS} characters)")
