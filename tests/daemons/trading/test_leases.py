"""Account leases on PostgreSQL advisory locks: one daemon per account, freed on death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from uuid import uuid4

import psycopg

from daemons.trading.leases import LeaseHolder, lease_owners, lock_key
from daemons.venue.testing import wait_for


def test_lease_one_account_is_held_by_one_daemon_only(pg_server, db_name) -> None:
    url = pg_server.app_url(db_name)
    a, b = LeaseHolder(url, "daemon-a"), LeaseHolder(url, "daemon-b")
    accounts = [uuid4() for _ in range(3)]
    try:
        assert a.try_acquire(accounts[:2]) == set(accounts[:2])
        assert b.try_acquire(accounts) == {accounts[2]}
        assert a.try_acquire(accounts) == set(), "held ones are not counted again"
        with psycopg.connect(pg_server.admin_url(db_name)) as conn:
            owners = lease_owners(conn, accounts)
        assert owners == {accounts[0]: "daemon-a", accounts[1]: "daemon-a",
                          accounts[2]: "daemon-b"}
        a.release(accounts[0])
        assert b.try_acquire(accounts) == {accounts[0]}
    finally:
        a.close()
        b.close()


def test_lease_of_a_killed_process_is_taken_over(pg_server, db_name) -> None:
    """kill -9 of the holder frees its lease: the kernel closes its socket at once."""
    url = pg_server.app_url(db_name)
    account = uuid4()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, uuid; from daemons.trading.leases import LeaseHolder;"
         "h = LeaseHolder(sys.argv[1], 'victim');"
         "assert h.try_acquire([uuid.UUID(sys.argv[2])]); print('held', flush=True);"
         "time.sleep(600)", url, str(account)],
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    taker = LeaseHolder(url, "taker")
    try:
        assert holder.stdout.readline().strip() == "held"
        assert taker.try_acquire([account]) == set()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)
        deadline = time.monotonic() + 30
        while not taker.try_acquire([account]):
            assert time.monotonic() < deadline, "the lease was never freed"
            time.sleep(0.05)
        assert taker.held == {account}
    finally:
        holder.kill()
        taker.close()


def test_lease_connection_lost_loses_every_lease(pg_server, db_name) -> None:
    """A terminated session (a database restart) is noticed, and nothing is held then."""
    url = pg_server.app_url(db_name)
    holder = LeaseHolder(url, "fragile")
    account = uuid4()
    try:
        assert holder.try_acquire([account]) == {account}
        assert holder.check()
        with psycopg.connect(pg_server.admin_url(db_name), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE application_name = 'gridbot-trade:fragile'")
        wait_for(lambda: not holder.check(), timeout_s=10, what="the lost session noticed")
        assert holder.held == frozenset()
        other = LeaseHolder(url, "other")
        assert other.try_acquire([account]) == {account}
        other.close()
    finally:
        holder.close()


def test_lease_keys_differ_per_account_and_are_stable() -> None:
    ids = [uuid4() for _ in range(1000)]
    assert len({lock_key(i) for i in ids}) == 1000
    assert lock_key(ids[0]) == lock_key(ids[0])
