"""API credentials, stored envelope-encrypted (``daemons.secrets.envelope``).

An account has at most one active credential. Rotating an API key stores the new one as
active and marks the old one inactive with a deletion time (the grace period lets orders
signed with the old key settle); :func:`purge_rotated` deletes it after that.
Rotating the *master* key re-wraps data keys (:func:`rewrap_all`), never exposing a secret.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import class_row

from daemons.db.errors import AlreadyExists, InvalidInput, NotFound
from daemons.secrets.envelope import SealedSecret, Secret, open_sealed, rewrap, seal
from daemons.secrets.keys import Keyring, MasterKey

_API_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: Longest API secret stored: Bybit's HMAC secrets are 36 characters, an RSA private key
#: on one line about 1,700; anything far longer is a mistake (a file piped by accident).
MAX_SECRET_CHARS = 4096
DEFAULT_GRACE = timedelta(hours=24)
_INFO_COLUMNS = ("credential_id, account_id, api_key_id, encryption_key_id, is_active,"
                 " created_at, rotated_at, delete_after")


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """A credential's metadata: what ``credentials list`` shows. No secret in it."""

    credential_id: UUID
    account_id: UUID
    api_key_id: str
    encryption_key_id: str
    is_active: bool
    created_at: datetime
    rotated_at: datetime | None
    delete_after: datetime | None


@dataclass(frozen=True, slots=True)
class Credential:
    """A decrypted credential; ``secret`` is a :class:`Secret` (its repr hides it)."""

    credential_id: UUID
    account_id: UUID
    api_key_id: str
    secret: Secret


def add_credential(conn: psycopg.Connection, keyring: Keyring, account_id: UUID,
                   api_key_id: str, secret: Secret) -> CredentialInfo:
    """Store the account's first active credential (use :func:`rotate_credential` after)."""
    _check_key_id(api_key_id)
    check_secret(secret)
    active = conn.execute("SELECT 1 FROM api_credentials WHERE account_id = %s AND is_active",
                          [account_id]).fetchone()
    if active is not None:
        raise AlreadyExists("the account already has an active credential: "
                            "use `gridbot credentials rotate`")
    return _insert(conn, keyring, account_id, api_key_id, secret)


def rotate_credential(conn: psycopg.Connection, keyring: Keyring, account_id: UUID,
                      api_key_id: str, secret: Secret,
                      grace: timedelta = DEFAULT_GRACE) -> CredentialInfo:
    """Make a new credential active; the old one turns inactive, deleted after ``grace``."""
    _check_key_id(api_key_id)
    check_secret(secret)
    if grace < timedelta(0):
        raise InvalidInput("the grace period cannot be negative")
    with conn.transaction():
        old = conn.execute(
            "UPDATE api_credentials SET is_active = false, rotated_at = now(),"
            " delete_after = now() + %s WHERE account_id = %s AND is_active RETURNING 1",
            [grace, account_id]).fetchone()
        if old is None:
            raise NotFound("the account has no active credential to rotate: "
                           "use `gridbot credentials add`")
        info = _insert(conn, keyring, account_id, api_key_id, secret)
    purge_rotated(conn)
    return info


def list_credentials(conn: psycopg.Connection, account_id: UUID | None = None,
                     user_id: UUID | None = None) -> list[CredentialInfo]:
    """Credential metadata visible to ``conn``, optionally of one account and/or one user."""
    with conn.cursor(row_factory=class_row(CredentialInfo)) as cur:
        return cur.execute(f"SELECT {_INFO_COLUMNS} FROM api_credentials"
                           " WHERE (%s::uuid IS NULL OR account_id = %s)"
                           " AND (%s::uuid IS NULL OR user_id = %s)"
                           " ORDER BY account_id, created_at",
                           [account_id] * 2 + [user_id] * 2).fetchall()


def load_active_credential(conn: psycopg.Connection, keyring: Keyring,
                           account_id: UUID) -> Credential:
    """Decrypt the account's active credential (in memory only)."""
    row = conn.execute(
        "SELECT credential_id, api_key_id, encrypted_secret, encrypted_data_key,"
        " encryption_key_id FROM api_credentials WHERE account_id = %s AND is_active",
        [account_id]).fetchone()
    if row is None:
        raise NotFound(f"account {account_id} has no active credential")
    credential_id, api_key_id, encrypted_secret, wrapped, key_id = row
    secret = open_sealed(keyring, SealedSecret(bytes(encrypted_secret), bytes(wrapped), key_id),
                         credential_id=credential_id)
    return Credential(credential_id, account_id, api_key_id, secret)


def purge_rotated(conn: psycopg.Connection, now: datetime | None = None) -> int:
    """Delete the inactive credentials whose grace period is over at ``now``; return how many.

    Under row-level security (a unit of work) only that user's credentials are seen; the
    scheduled purge (``gridbot credentials purge``, ``gridbot db migrate``) runs as admin.
    """
    return conn.execute("SELECT gridbot_purge_rotated_credentials(coalesce(%s, now()))",
                        [now]).fetchone()[0]


def rewrap_batch(conn: psycopg.Connection, keyring: Keyring, target: MasterKey,
                 limit: int = 100) -> int:
    """Re-wrap up to ``limit`` data keys not under ``target`` (admin context); return count.

    Rows are locked while re-wrapped and the batch commits with its transaction, so an
    interrupted rotation leaves each row under either the old or the new key, both of
    which the keyring still holds: running the rotation again finishes the job.
    """
    rows = conn.execute(
        "SELECT credential_id, encrypted_secret, encrypted_data_key, encryption_key_id"
        " FROM api_credentials WHERE encryption_key_id <> %s"
        " ORDER BY credential_id LIMIT %s FOR UPDATE", [target.key_id, limit]).fetchall()
    for credential_id, encrypted_secret, wrapped, key_id in rows:
        sealed = SealedSecret(bytes(encrypted_secret), bytes(wrapped), key_id)
        moved = rewrap(keyring, sealed, credential_id=credential_id, target=target)
        conn.execute("UPDATE api_credentials SET encrypted_data_key = %s, encryption_key_id = %s"
                     " WHERE credential_id = %s",
                     [moved.encrypted_data_key, moved.key_id, credential_id])
    return len(rows)


def count_by_key(conn: psycopg.Connection) -> dict[str, int]:
    """How many credentials each master key wraps (admin context)."""
    rows = conn.execute("SELECT encryption_key_id, count(*) FROM api_credentials"
                        " GROUP BY 1 ORDER BY 1").fetchall()
    return dict(rows)


def _insert(conn: psycopg.Connection, keyring: Keyring, account_id: UUID, api_key_id: str,
            secret: Secret) -> CredentialInfo:
    credential_id = uuid4()
    sealed = seal(keyring, secret, credential_id=credential_id)
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(CredentialInfo)) as cur:
            return cur.execute(
                "INSERT INTO api_credentials (credential_id, user_id, account_id, api_key_id,"
                " encrypted_secret, encrypted_data_key, encryption_key_id)"
                " SELECT %s, user_id, account_id, %s, %s, %s, %s FROM bybit_accounts"
                f" WHERE account_id = %s RETURNING {_INFO_COLUMNS}",
                [credential_id, api_key_id, sealed.encrypted_secret, sealed.encrypted_data_key,
                 sealed.key_id, account_id]).fetchone() or _no_account(account_id)
    except psycopg.errors.UniqueViolation:
        raise AlreadyExists(f"API key {api_key_id!r} is already stored for this account") from None


def _no_account(account_id: UUID) -> CredentialInfo:
    raise NotFound(f"unknown account {str(account_id)!r}")


def _check_key_id(api_key_id: str) -> None:
    if not _API_KEY_ID.fullmatch(api_key_id):
        raise InvalidInput("API key id: use 1-128 of A-Z, a-z, 0-9, '_', '-'")


def check_secret(secret: Secret) -> None:
    """Refuse a secret no exchange issues: too long, or holding control characters (a
    NUL, an escape) that would only corrupt signatures or the terminal of whoever sees it."""
    value = secret.reveal()
    if len(value) > MAX_SECRET_CHARS:
        raise InvalidInput(f"the API secret is longer than {MAX_SECRET_CHARS} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidInput("the API secret holds control characters (a NUL, an escape)")
