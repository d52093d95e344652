"""Keep messages that failed validation, verbatim, for inspection (``raw_quarantine``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg

from daemons.secrets.redaction import redact


def storable_text(value: str | bytes) -> str:
    """``value`` as text PostgreSQL accepts, with secrets redacted.

    A refused message may hold anything: bytes that are not UTF-8 (decoded with
    replacement), NUL (which no ``text`` column holds: written ``\\u0000``), lone
    surrogates (written as backslash escapes), or a credential sent where it should not
    be (redacted like a log line). Everything else is kept as it came.
    """
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
    return redact(text)


def quarantine(conn: psycopg.Connection, *, source: str, payload: str | bytes, error: str,
               local_ts: datetime, topic: str | None = None,
               exchange_ts: datetime | None = None, account_id: UUID | None = None) -> int:
    """Store one rejected message; return its id.

    A private-stream message (``account_id`` given) is stored for the unit of work's user,
    which must own the account; a public one has no tenant. ``payload`` is kept as text
    (see :func:`storable_text`) because it may not even be valid JSON.
    """
    return conn.execute(
        "INSERT INTO raw_quarantine (user_id, account_id, source, topic, payload, error,"
        " exchange_ts, local_ts) VALUES (CASE WHEN %(account)s::uuid IS NULL THEN NULL"
        " ELSE gridbot_current_user_id() END, %(account)s, %(source)s, %(topic)s,"
        " %(payload)s, %(error)s, %(exchange_ts)s, %(local_ts)s) RETURNING id",
        {"account": account_id, "source": storable_text(source),
         "topic": None if topic is None else storable_text(topic),
         "payload": storable_text(payload), "error": storable_text(error),
         "exchange_ts": exchange_ts, "local_ts": local_ts},
    ).fetchone()[0]
