"""What is enabled (daemons/db/targets.py): the accounts and strategies capture and the
trading daemon run, read once for both, on a real database with real encryption."""

from __future__ import annotations

from daemons.db import accounts, strategies
from daemons.db.session import Database
from daemons.db.targets import discover
from daemons.secrets.keys import Keyring
from tests.fixtures.tenants import GRID, make_tenant, make_user


def test_discover_account_gives_its_enabled_strategies_only(
        db: Database, keyring: Keyring) -> None:
    alice = make_tenant(db, keyring, "alice", events=False)
    with db.unit_of_work(alice.user_id) as conn:
        eth = strategies.add_strategy(conn, alice.account_id, "ETHUSDT", GRID)
        strategies.set_enabled(conn, eth.strategy_id, False)
    found = discover(db, keyring, "testnet")
    (account,) = found.accounts
    assert [(s.strategy_id, s.symbol, s.config["grid_count"], s.mode)
            for s in account.strategies] == [(alice.strategy_id, "BTCUSDT", 10, "live")]
    assert found.symbols == ("BTCUSDT",) and found.refused == ()


def test_discover_known_account_with_new_strategy_is_not_decrypted_again(
        db: Database, keyring: Keyring) -> None:
    alice = make_tenant(db, keyring, "alice", events=False)
    first = discover(db, keyring, "testnet")
    with db.unit_of_work(alice.user_id) as conn:
        strategies.add_strategy(conn, alice.account_id, "ETHUSDT", GRID)
    (again,) = discover(db, keyring, "testnet", first.accounts).accounts
    assert [s.symbol for s in again.strategies] == ["BTCUSDT", "ETHUSDT"]
    assert again.secret is first.accounts[0].secret  # the one decrypted the first time


def test_discover_with_strategies_only_leaves_out_an_account_without_one_unread(
        db: Database, keyring: Keyring) -> None:
    """An account with no strategy and no credential: capture is told it cannot be
    captured; the trading daemon never hears of it."""
    make_tenant(db, keyring, "alice", events=False)
    bob = make_user(db, "bob")
    with db.unit_of_work(bob) as conn:
        accounts.add_account(conn, bob, "idle", "testnet")
    everything = discover(db, keyring, "testnet")
    traded = discover(db, keyring, "testnet", with_strategies_only=True)
    assert [name for name, _ in everything.refused] == ["bob/idle"]
    assert [a.name for a in everything.accounts] == ["alice/main"]
    assert traded.refused == () and [a.name for a in traded.accounts] == ["alice/main"]
