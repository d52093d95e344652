"""Trading daemon tests: a real venue, a real database, tenants whose keys match the venue.

Venue accounts get canary secrets (the leak guard fails any test that logs one); the same
secrets are stored envelope-encrypted as the accounts' credentials, so the daemon decrypts
and signs exactly as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.ratelimit import RateLimits
from daemons.db import accounts, credentials, strategies, users
from daemons.db.event_writer import WriterConfig
from daemons.db.session import Database
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import Keyring, load_keyring
from daemons.trading.breaker import BreakerPolicy
from daemons.trading.config import WorkerConfig
from daemons.trading.daemon import TradeConfig, TradeDaemon
from daemons.trading.targets import discover
from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.server import RunningVenue, start_venue
from tests.fixtures.postgres import PgTestServer
from tests.fixtures.secrets import make_secret_text

SYMBOL = "BTCUSDT"
GRID = {"amount": "0.001", "grid_count": 10, "grid_step": 0.1}


def venue_accounts(count: int, usdt: int = 100_000) -> tuple[AccountSpec, ...]:
    """Accounts with a second key each (for rotation while trading)."""
    return tuple(AccountSpec(f"trader{n}", f"key-trader{n}", make_secret_text(), Decimal(usdt),
                             more_keys=((f"key-trader{n}-2", make_secret_text()),))
                 for n in range(1, count + 1))


def start_trading_venue(count: int = 2, usdt: int = 100_000, **overrides: Any) -> RunningVenue:
    overrides.setdefault("seed", 5)
    overrides.setdefault("latency_ms_median", 2.0)
    overrides.setdefault("speed", 5.0)
    return start_venue(VenueConfig(accounts=venue_accounts(count, usdt), **overrides))


@dataclass
class Tenants:
    """The stored users, accounts and strategies of a test, by venue account name."""

    accounts: dict[str, UUID] = field(default_factory=dict)
    users: dict[str, UUID] = field(default_factory=dict)
    strategies: dict[str, list[int]] = field(default_factory=dict)


def store_tenants(db: Database, keyring: Keyring, venue: RunningVenue, *,
                  symbols: tuple[str, ...] = (SYMBOL,), grid: dict | None = None,
                  modes: dict[str, str] | None = None, prefix: str = "user") -> Tenants:
    """One user per venue account, its credential and a strategy per symbol."""
    tenants = Tenants()
    for spec in venue.server.config.accounts:
        with db.admin() as conn:
            user = users.add_user(conn, f"{prefix}-{spec.name}",
                                  f"{prefix}.{spec.name}@example.com")
        with db.unit_of_work(user.user_id) as conn:
            account = accounts.add_account(conn, user.user_id, spec.name, "local")
            credentials.add_credential(conn, keyring, account.account_id, spec.api_key,
                                       Secret(spec.api_secret))
            ids = [strategies.add_strategy(conn, account.account_id, symbol,
                                           grid or GRID).strategy_id for symbol in symbols]
        if modes and spec.name in modes:
            with db.admin() as conn:
                conn.execute("UPDATE strategies SET mode = %s WHERE account_id = %s",
                             [modes[spec.name], account.account_id])
        tenants.accounts[spec.name] = account.account_id
        tenants.users[spec.name] = user.user_id
        tenants.strategies[spec.name] = ids
    return tenants


def fast_config(**worker: Any) -> TradeConfig:
    """Short intervals so that a test sees snapshots, refreshes and takeovers quickly."""
    values: dict[str, Any] = {"snapshot_interval_s": 2.0, "ping_interval_s": 2,
                              "rest_limits": RateLimits(10, 20),
                              "breaker": BreakerPolicy(3, (1.0, 2.0, 4.0))}
    values.update(worker)
    return TradeConfig(refresh_interval_s=1.0, lease_poll_s=0.5, status_interval_s=0.3,
                       worker=WorkerConfig(**values),
                       writer=WriterConfig(flush_interval_s=0.05, retry_min_s=0.1,
                                           retry_max_s=0.5))


def make_daemon(db: Database, keyring: Keyring, venue: RunningVenue, home: Path,
                lease_url: str, config: TradeConfig | None = None,
                daemon_id: str | None = None) -> TradeDaemon:
    endpoints = endpoints_for("local", venue.base_url)
    return TradeDaemon(db, endpoints, lambda known: discover(db, keyring, "local", known),
                       home, lease_url=lease_url, config=config or fast_config(),
                       daemon_id=daemon_id)


@contextmanager
def trading(daemon: TradeDaemon) -> Iterator[threading.Event]:
    """The daemon running on a thread until the block ends (or the yielded event is set);
    it must have stopped, every worker with it, when the block is left."""
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(120)
        assert not thread.is_alive(), "the daemon stopped"


def venue_open_orders(venue: RunningVenue, name: str, symbol: str = SYMBOL) -> list[dict]:
    """The account's open orders as the venue holds them (read inside the venue: no key,
    no rate limit, so it works while the account's key is refused)."""
    account = venue.server.core.accounts[name]

    def read() -> list[dict]:
        return [{"orderLinkId": o.order_link_id, "orderId": o.order_id, "side": o.side,
                 "price_ticks": o.price_ticks, "qty_lots": o.qty_lots, "symbol": o.symbol}
                for o in account.orders.values() if o.is_open]
    return venue.call(read)


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return load_keyring(tmp_path / "home", create=True)


@pytest.fixture
def app_url(pg_server: PgTestServer, db_name: str) -> str:
    return pg_server.app_url(db_name)


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    running = start_trading_venue(2)
    yield running
    running.stop()
