"""Tenant repositories: users, accounts, strategies, runs; cascades and constraints."""

from __future__ import annotations

import pytest

from daemons.db import accounts, runs, strategies, users
from daemons.db.errors import AlreadyExists, InvalidInput, NotFound
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from gridcore.config import GridConfig
from tests.fixtures.tenants import GRID, make_tenant, make_user


def test_users_email_is_unique_ignoring_case(db: Database) -> None:
    make_user(db, "hana")
    with pytest.raises(AlreadyExists, match="email"), db.admin() as conn:
        users.add_user(conn, "ivan", "HANA@example.com")


def test_users_unknown_name_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="unknown user 'zed'"), db.admin() as conn:
        users.get_user(conn, "zed")


def test_users_updated_at_moves_on_update(db: Database) -> None:
    user_id = make_user(db, "jo")
    with db.admin() as conn:
        before = users.get_user_by_id(conn, user_id)
    with db.admin() as conn:
        users.set_status(conn, user_id, "suspended")
        after = users.get_user_by_id(conn, user_id)
    assert after.status == "suspended" and after.updated_at > before.updated_at


def test_accounts_same_name_for_two_users_is_allowed_and_resolved_by_user(db: Database) -> None:
    ids = {name: make_user(db, name) for name in ("kim", "lee")}
    for user_id in ids.values():
        with db.unit_of_work(user_id) as conn:
            accounts.add_account(conn, user_id, "main", "local")
    with db.admin() as conn:
        assert accounts.resolve_account(conn, "main", "lee").user_id == ids["lee"]
        with pytest.raises(InvalidInput, match="several users"):
            accounts.resolve_account(conn, "main")


def test_strategy_config_is_validated_and_stored_complete(db: Database, keyring: Keyring) -> None:
    tenant = make_tenant(db, keyring, "max", events=False)
    with db.unit_of_work(tenant.user_id) as conn:
        strategy = strategies.get_strategy(conn, tenant.strategy_id)
        with pytest.raises(InvalidInput, match="grid_step_pct"):
            strategies.add_strategy(conn, tenant.account_id, "ETHUSDT",
                                    {"amount": "0.01", "grid_step_pct": "0"})
        with pytest.raises(AlreadyExists, match="BTCUSDT"):
            strategies.add_strategy(conn, tenant.account_id, "BTCUSDT", GRID)
    assert strategy.config == GridConfig.from_mapping(GRID)
    assert strategy.config_json == GridConfig.from_mapping(GRID).to_mapping()
    assert isinstance(strategy.strategy_id, int) and len(str(strategy.strategy_id)) < 8


def test_runs_record_type_version_and_status(db: Database, keyring: Keyring) -> None:
    tenant = make_tenant(db, keyring, "nia", events=False)
    with db.unit_of_work(tenant.user_id) as conn:
        backtest = runs.start_run(conn, "backtest", GRID, strategy_id=tenant.strategy_id)
        done = runs.finish_run(conn, backtest.run_id, "completed")
        with pytest.raises(InvalidInput, match="needs an account"):
            runs.start_run(conn, "shadow", GRID)
        with pytest.raises(InvalidInput, match="run type"):
            runs.start_run(conn, "paper", GRID, account_id=tenant.account_id)
    assert backtest.status == "running" and backtest.gridcore_version
    assert done.status == "completed" and done.end_ts >= done.start_ts


def test_deleting_a_user_removes_everything_of_theirs(db: Database, keyring: Keyring) -> None:
    keep = make_tenant(db, keyring, "olga")
    gone = make_tenant(db, keyring, "paul")
    with db.admin() as conn:
        conn.execute("DELETE FROM users WHERE user_id = %s", [gone.user_id])
        tables = ["bybit_accounts", "api_credentials", "strategies", "runs", "orders",
                  "private_executions", "positions", "wallets", "engine_decisions",
                  "raw_quarantine", "backtest_results", "sim_executions", "equity_points",
                  "engine_snapshots"]
        left = {t: conn.execute(f"SELECT count(*) FROM {t} WHERE user_id = %s",
                                [gone.user_id]).fetchone()[0] for t in tables}
        kept = {t: conn.execute(f"SELECT count(*) FROM {t} WHERE user_id = %s",
                                [keep.user_id]).fetchone()[0] for t in tables}
    assert set(left.values()) == {0}
    assert kept == {t: 2 if t == "runs" else 1 for t in tables}  # a live and a backtest run
