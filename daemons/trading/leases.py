"""Account leases: each account is traded by exactly one daemon at a time.

A lease is a PostgreSQL session-level advisory lock on the account, held on one dedicated
connection per daemon. PostgreSQL releases a session's locks when the session ends, so a
daemon that dies (``kill -9``, a crash, a lost host) frees its accounts without any help:
the kernel closes the socket of a killed process at once, and TCP keepalives (5 s idle,
then 3 probes 2 s apart) end the session of a host that vanished. Another daemon polling
for unowned accounts then takes them within its poll interval. No coordinator beyond
PostgreSQL.

The flip side: if this daemon's lease connection breaks (a database restart), every lease
it held is gone and another daemon may take the accounts. :meth:`LeaseHolder.check`
notices, and the daemon stops all its workers before it tries to lease anything again
(fail closed: two daemons must never trade one account).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from uuid import UUID

import psycopg

log = logging.getLogger(__name__)

#: libpq keepalive settings of the lease connection (see the module docstring).
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
              "keepalives_count": 3}
APPLICATION_PREFIX = "gridbot-trade:"


def lock_key(account_id: UUID) -> int:
    """The advisory lock key of an account: 63 bits of a hash of its id, namespaced."""
    digest = hashlib.blake2b(b"gridbot-trade-lease:" + account_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LeaseHolder:
    """This daemon's leases, on one connection of its own.

    Parameters
    ----------
    url:
        Connection string (the application role is enough: advisory locks need no
        table privilege).
    daemon_id:
        Shown as the connection's ``application_name``, so an operator can see which
        daemon holds an account (:func:`lease_owners`).
    """

    def __init__(self, url: str, daemon_id: str) -> None:
        self._url = url
        self.daemon_id = daemon_id
        self._conn: psycopg.Connection | None = None
        self._held: set[UUID] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LeaseHolder({self.daemon_id!r}, held={len(self._held)})"

    @property
    def held(self) -> frozenset[UUID]:
        return frozenset(self._held)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._held.clear()
            self._conn = psycopg.connect(
                self._url, autocommit=True,
                application_name=(APPLICATION_PREFIX + self.daemon_id)[:63], **KEEPALIVES)
        return self._conn

    def try_acquire(self, account_ids: Iterable[UUID]) -> set[UUID]:
        """Lease every free account of ``account_ids``; return those newly leased."""
        gained = set()
        with self._lock:
            conn = self._connection()
            for account_id in account_ids:
                if account_id in self._held:
                    continue
                row = conn.execute("SELECT pg_try_advisory_lock(%s)",
                                   [lock_key(account_id)]).fetchone()
                if row is not None and row[0]:
                    self._held.add(account_id)
                    gained.add(account_id)
        return gained

    def release(self, account_id: UUID) -> None:
        """Give an account up (its worker has stopped)."""
        with self._lock:
            if account_id not in self._held:
                return
            self._held.discard(account_id)
            if self._conn is not None and not self._conn.closed:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", [lock_key(account_id)])
                except psycopg.Error as e:  # the session is gone: so is the lock
                    log.warning("lease of %s released with its session (%s)", account_id,
                                type(e).__name__)

    def check(self) -> bool:
        """Whether the leases are still held (the session answers). False loses them all."""
        with self._lock:
            if self._conn is None:
                return True
            try:
                self._conn.execute("")
                return True
            except psycopg.Error as e:
                log.error("lease connection lost (%s): every lease is gone", type(e).__name__)
                self._conn.close()
                self._held.clear()
                return False

    def close(self) -> None:
        """End the session, releasing every lease at once."""
        with self._lock:
            self._held.clear()
            if self._conn is not None:
                self._conn.close()


def lease_owners(conn: psycopg.Connection, account_ids: Iterable[UUID]) -> dict[UUID, str]:
    """Which daemon (its id) holds each of ``account_ids``, for status output."""
    wanted = {lock_key(a): a for a in account_ids}
    if not wanted:
        return {}
    rows = conn.execute(
        "SELECT (l.classid::bigint << 32) | l.objid::bigint, a.application_name"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
        " AND a.application_name LIKE %s", [APPLICATION_PREFIX + "%"]).fetchall()
    owners = {}
    for key, application in rows:
        signed = key - (1 << 64) if key >= (1 << 63) else key
        if signed in wanted:
            owners[wanted[signed]] = application[len(APPLICATION_PREFIX):]
    return owners
