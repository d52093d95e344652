"""What the application role may update (sql/0004, narrowed by sql/0008), as gridbot_app.

A user's own unit of work must not be able to unsuspend the user or store a strategy config
that GridConfig never validated; the updates the application does run keep working.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from daemons.db import accounts, credentials, runs, strategies, users
from daemons.db.session import Database
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import Keyring
from tests.fixtures.secrets import make_secret_text
from tests.fixtures.tenants import make_tenant

#: Every column gridbot_app may UPDATE, and who does (each in the owner's unit of work).
APP_UPDATES = {
    ("bybit_accounts", "status"),        # accounts.set_status: gridbot accounts enable/disable
    ("strategies", "is_enabled"),        # strategies.set_enabled: gridbot strategies enable/...
    ("strategies", "latched_at"),        # sql/0009: the trading daemon's loss-cap latch
    ("strategies", "latch_reason"),
    ("api_credentials", "is_active"),    # credentials.rotate_credential
    ("api_credentials", "rotated_at"),
    ("api_credentials", "delete_after"),
    ("runs", "end_ts"),                  # runs.finish_run
    ("runs", "status"),
    ("capture_gaps", "filled"),          # sql/0006
    ("capture_gaps", "rows_recovered"),
    ("capture_gaps", "detail"),
}


def test_grants_app_role_may_update_exactly_the_columns_the_application_updates(
        db: Database) -> None:
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT table_name::text, column_name::text FROM information_schema.column_privileges"
            " WHERE grantee = 'gridbot_app' AND privilege_type = 'UPDATE'").fetchall()
    assert set(rows) == APP_UPDATES


def test_grants_suspended_user_cannot_unsuspend_itself(db: Database, keyring: Keyring) -> None:
    alice = make_tenant(db, keyring, "alice", events=False)
    with db.admin() as conn:
        users.set_status(conn, alice.user_id, "suspended")  # the operator, as the owner
    with pytest.raises(psycopg.errors.InsufficientPrivilege), \
            db.unit_of_work(alice.user_id) as conn:
        users.set_status(conn, alice.user_id, "active")
    for statement in ("UPDATE users SET status = 'active' WHERE user_id = %s",
                      "UPDATE users SET email = 'new@example.com' WHERE user_id = %s"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                db.unit_of_work(alice.user_id) as conn:
            conn.execute(statement, [alice.user_id])
    with db.admin() as conn:
        user = users.get_user_by_id(conn, alice.user_id)
    assert (user.status, user.email) == ("suspended", "alice@example.com")


def test_grants_app_role_cannot_store_an_unvalidated_strategy_config(
        db: Database, keyring: Keyring) -> None:
    alice = make_tenant(db, keyring, "alice", events=False)
    with db.admin() as conn:
        before = strategies.get_strategy(conn, alice.strategy_id).config_json
    with pytest.raises(psycopg.errors.InsufficientPrivilege), \
            db.unit_of_work(alice.user_id) as conn:
        conn.execute("UPDATE strategies SET config_json = '{\"grid_count\": -1}'"
                     " WHERE strategy_id = %s", [alice.strategy_id])
    with db.admin() as conn:
        assert strategies.get_strategy(conn, alice.strategy_id).config_json == before


def test_grants_updates_the_application_runs_still_work_as_the_app_role(
        db: Database, keyring: Keyring) -> None:
    alice = make_tenant(db, keyring, "alice", events=False)
    with db.unit_of_work(alice.user_id) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "gridbot_app"
        accounts.set_status(conn, alice.account_id, "disabled")
        strategies.set_enabled(conn, alice.strategy_id, False)
        credentials.rotate_credential(conn, keyring, alice.account_id, "KEYalice2",
                                      Secret(make_secret_text()), grace=timedelta(hours=1))
        run = runs.finish_run(conn, alice.run_id, "failed")
        account = accounts.get_account(conn, alice.account_id)
        strategy = strategies.get_strategy(conn, alice.strategy_id)
        active = {c.api_key_id: c.is_active
                  for c in credentials.list_credentials(conn, alice.account_id)}
    assert (account.status, strategy.is_enabled, run.status) == ("disabled", False, "failed")
    assert active == {"KEYalice": False, "KEYalice2": True}
