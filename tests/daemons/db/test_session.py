"""Units of work: the tenant setting is transaction-local; privileged app logins refused."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest

from daemons.db import accounts
from daemons.db.errors import InsecureConnection, NotMigrated
from daemons.db.session import Database, require_migrated
from tests.fixtures.postgres import PgTestServer
from tests.fixtures.tenants import make_user


def test_unit_of_work_setting_does_not_outlive_the_transaction(db: Database) -> None:
    user_id = make_user(db, "quinn")
    with db.unit_of_work(user_id) as conn:
        first = conn
        assert conn.execute("SELECT gridbot_current_user_id()").fetchone()[0] == user_id
    with db.market_data() as conn:
        assert conn is first  # the same pooled connection
        assert conn.execute("SELECT gridbot_current_user_id()").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_unit_of_work_error_rolls_back_its_writes(db: Database) -> None:
    user_id = make_user(db, "rita")
    with pytest.raises(RuntimeError), db.unit_of_work(user_id) as conn:
        accounts.add_account(conn, user_id, "main", "testnet")
        assert accounts.list_accounts(conn, user_id)  # written, inside the transaction
        raise RuntimeError("boom")
    with db.admin() as conn:
        assert accounts.list_accounts(conn, user_id) == []


def test_app_login_with_a_superuser_is_refused(pg_server: PgTestServer, db_name: str) -> None:
    unsafe = Database(pg_server.admin_url(db_name), app_url=pg_server.admin_url(db_name))
    with pytest.raises(InsecureConnection, match="bypasses row-level security"), \
            unsafe.unit_of_work(uuid4()):
        pass


def test_require_migrated_on_empty_database_says_what_to_run(pg_server: PgTestServer) -> None:
    name = pg_server.create_database(template=None)
    empty = Database(pg_server.admin_url(name), pg_server.app_url(name))
    try:
        with pytest.raises(NotMigrated, match="gridbot db migrate"):
            require_migrated(empty)
    finally:
        empty.close()
        pg_server.drop_database(name)


def test_database_repr_shows_no_connection_string(db: Database) -> None:
    assert "postgresql" not in repr(db) and "@" not in repr(db)


def test_market_data_ignores_a_user_left_behind_by_a_plain_set(db: Database) -> None:
    user_id = make_user(db, "sam")
    with db.unit_of_work(user_id) as conn:
        conn.execute(f"SET gridbot.user_id = '{user_id}'")  # session-wide: a bug elsewhere
    with db.market_data() as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_pooled_connections_killed_by_the_server_are_replaced_not_lent(
        db: Database, pg_server: PgTestServer, db_name: str) -> None:
    with db.admin() as first, db.admin() as second:  # two idle admin connections after this
        pids = {first.info.backend_pid, second.info.backend_pid}
    with psycopg.connect(pg_server.admin_url(), autocommit=True) as other:
        # what a server restart does to idle connections (AdminShutdown), done to these only;
        # the timeout waits until they are gone
        other.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                      " WHERE datname = %s AND pid = ANY(%s)", [db_name, list(pids)])
    with db.admin() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.backend_pid not in pids
