"""Keep messages that failed validation, verbatim, for inspection (``raw_quarantine``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg


def quarantine(conn: psycopg.Connection, *, source: str, payload: str | bytes, error: str,
               local_ts: datetime, topic: str | None = None,
               exchange_ts: datetime | None = None, account_id: UUID | None = None) -> int:
    """Store one rejected message; return its id.

    A private-stream message (``account_id`` given) is stored for the unit of work's user,
    which must own the account; a public one has no tenant. ``payload`` is kept as text
    (bytes are decoded with replacement) because it may not even be valid JSON.
    """
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return conn.execute(
        "INSERT INTO raw_quarantine (user_id, account_id, source, topic, payload, error,"
        " exchange_ts, local_ts) VALUES (CASE WHEN %(account)s::uuid IS NULL THEN NULL"
        " ELSE gridbot_current_user_id() END, %(account)s, %(source)s, %(topic)s,"
        " %(payload)s, %(error)s, %(exchange_ts)s, %(local_ts)s) RETURNING id",
        {"account": account_id, "source": source, "topic": topic, "payload": text,
         "error": error, "exchange_ts": exchange_ts, "local_ts": local_ts},
    ).fetchone()[0]
