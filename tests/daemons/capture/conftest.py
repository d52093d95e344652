"""Capture tests: a real venue, a real database, tenants whose credentials match the venue.

Venue accounts get canary secrets (the leak guard fails any test that logs one); the
same secrets are stored, envelope-encrypted, as the accounts' credentials, so the
daemon decrypts them exactly as in production.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pybit.unified_trading import HTTP

from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.ratelimit import RateLimits
from daemons.capture.daemon import CaptureConfig, CaptureDaemon
from daemons.capture.reconciler import ReconcileConfig
from daemons.db import accounts, credentials, strategies, users
from daemons.db.event_writer import WriterConfig
from daemons.db.session import Database
from daemons.db.targets import discover
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import Keyring
from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.server import RunningVenue, start_venue
from daemons.venue.testing import pybit_http, wait_for, wait_subscribed
from tests.fixtures.postgres import PgTestServer, start_throwaway_server
from tests.fixtures.secrets import make_secret_text

SYMBOL = "BTCUSDT"
GRID = {"amount": "0.01", "grid_count": 10}


def venue_accounts(count: int) -> tuple[AccountSpec, ...]:
    """Accounts with a second key each, for credential rotation."""
    return tuple(AccountSpec(f"trader{n}", f"key-trader{n}", make_secret_text(), Decimal(1_000_000),
                             more_keys=((f"key-trader{n}-2", make_secret_text()),))
                 for n in range(1, count + 1))


def start_capture_venue(count: int = 2, **overrides: Any) -> RunningVenue:
    overrides.setdefault("seed", 11)
    overrides.setdefault("latency_ms_median", 2.0)
    return start_venue(VenueConfig(accounts=venue_accounts(count), **overrides))


def store_tenants(db: Database, keyring: Keyring, venue: RunningVenue,
                  environment: str = "local") -> dict[str, UUID]:
    """One user per venue account, its credential and a grid strategy on SYMBOL."""
    ids = {}
    for spec in venue.server.config.accounts:
        with db.admin() as conn:
            user = users.add_user(conn, f"user-{spec.name}", f"{spec.name}@example.com")
        with db.unit_of_work(user.user_id) as conn:
            account = accounts.add_account(conn, user.user_id, spec.name, environment)
            credentials.add_credential(conn, keyring, account.account_id, spec.api_key,
                                       Secret(spec.api_secret))
            strategies.add_strategy(conn, account.account_id, SYMBOL, GRID)
        ids[spec.name] = account.account_id
    return ids


def fast_config(**overrides: Any) -> CaptureConfig:
    """Short intervals so that a test sees reconnects, reconciles and status quickly."""
    values: dict[str, Any] = {
        "public_stale_after_s": 3.0, "ping_interval_s": 2, "status_interval_s": 0.2,
        "rest_limits": RateLimits(10, 40), "rest_backoff_s": (0.2, 0.4, 0.8),
        "writer": WriterConfig(flush_interval_s=0.05, retry_min_s=0.1, retry_max_s=0.5),
        "reconcile": ReconcileConfig(interval_s=5.0, private_settle_s=0.3, retry_base_s=0.3),
    }
    values.update(overrides)
    return CaptureConfig(**values)


def make_daemon(db: Database, keyring: Keyring, venue: RunningVenue, home: Path,
                config: CaptureConfig | None = None) -> CaptureDaemon:
    endpoints = endpoints_for("local", venue.base_url)
    return CaptureDaemon(db, endpoints, discover(db, keyring, "local"), home,
                         config or fast_config(),
                         discover=lambda known: discover(db, keyring, "local", known))


def wait_capture_subscribed(venue: RunningVenue, accounts: int,
                            symbols: tuple[str, ...] = (SYMBOL,)) -> None:
    """Wait until the venue holds the capture's subscriptions: public trades of
    ``symbols`` and ``accounts`` subscribed private connections. A connected stream is not
    yet subscribed (pybit does not wait for the acknowledgement), and a print published
    in between is never sent to it."""
    wait_subscribed(venue, "public", {f"publicTrade.{s}" for s in symbols}, timeout_s=30)
    hub = venue.server.private
    wait_for(lambda: venue.call(lambda: sum(1 for c in hub.connections if c.topics))
             >= accounts, 30, "private subscriptions")


def record_prints(venue: RunningVenue) -> list[dict[str, Any]]:
    """Every public print the venue makes from now on (its tape, as published)."""
    prints: list[dict[str, Any]] = []
    market = venue.server.core.market
    original = market.record_print

    def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
        item = original(*args, **kwargs)
        prints.append(item)
        return item

    venue.call(lambda: setattr(market, "record_print", recording))
    return prints


def venue_prints(venue: RunningVenue, prints: list[dict[str, Any]]) -> set[tuple]:
    items = venue.call(lambda: list(prints))
    return {(p["i"], p["T"], Decimal(p["p"]), Decimal(p["v"]), p["S"]) for p in items}


def captured_trades(db: Database) -> list[tuple]:
    with db.market_data() as conn:
        rows = conn.execute(
            "SELECT trade_id, (extract(epoch FROM exchange_ts) * 1000)::bigint, price, size,"
            " side FROM public_trades WHERE symbol = %s", [SYMBOL]).fetchall()
    return [(i, t, p.normalize(), s.normalize(), side) for i, t, p, s, side in rows]


def normalised(trades: set[tuple]) -> set[tuple]:
    return {(i, t, p.normalize(), s.normalize(), side) for i, t, p, s, side in trades}


def venue_fills(venue: RunningVenue, name: str) -> set[tuple]:
    acct = venue.server.core.accounts[name]
    execs = venue.call(lambda: list(acct.executions))
    return {(e.exec_id, e.exec_time_ms, e.exec_price.normalize(), e.exec_qty.normalize())
            for e in execs}


def captured_fills(db: Database, user_id: UUID, account_id: UUID) -> list[tuple]:
    with db.unit_of_work(user_id) as conn:
        rows = conn.execute(
            "SELECT exec_id, (extract(epoch FROM exchange_ts) * 1000)::bigint, exec_price,"
            " exec_qty FROM private_executions WHERE account_id = %s", [account_id]).fetchall()
    return [(i, t, p.normalize(), q.normalize()) for i, t, p, q in rows]


def owner(db: Database, account_id: UUID) -> UUID:
    with db.admin() as conn:
        return conn.execute("SELECT user_id FROM bybit_accounts WHERE account_id = %s",
                            [account_id]).fetchone()[0]


@dataclass
class OrderFlow:
    """Keeps resting limit orders a few ticks around the price so that they keep filling."""

    venue: RunningVenue
    per_account_per_s: float = 4.0
    placed: int = 0
    errors: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> OrderFlow:
        for spec in self.venue.server.config.accounts:
            session = pybit_http(self.venue, spec)
            thread = threading.Thread(target=self._run, args=(session,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _run(self, session: HTTP) -> None:
        number = 0
        market = self.venue.server.core.market
        while not self._stop.wait(1.0 / self.per_account_per_s):
            number += 1
            last = market.last_ticks
            side = "Buy" if number % 2 else "Sell"
            offset = 1 + number % 3
            ticks = last - offset if side == "Buy" else last + offset
            try:
                session.place_order(category="linear", symbol=SYMBOL, side=side,
                                    orderType="Limit", qty="0.001",
                                    price=f"{Decimal(ticks) * Decimal('0.1'):.1f}",
                                    positionIdx=1 if side == "Buy" else 2)
                self.placed += 1
            except Exception:  # the venue may refuse (e.g. margin); keep the flow going
                self.errors += 1


@dataclass(frozen=True)
class OwnServer:
    """A dedicated embedded server (not the suite's, so a test may stop it) and a database."""

    pg: PgTestServer
    name: str
    db: Database

    def stop(self) -> None:
        """Stop PostgreSQL: every connection to it dies."""
        self.pg.server.stop()

    def start(self) -> None:
        """Start it again where clients look for it."""
        assert self.pg.server.ensure_running().socket_dir == self.pg.info.socket_dir

    def env(self, home: Path) -> dict[str, str]:
        """Environment variables that point a gridbot process at this database and ``home``."""
        return {"DATABASE_URL": self.pg.admin_url(self.name),
                "GRIDBOT_APP_DATABASE_URL": self.pg.app_url(self.name),
                "GRIDBOT_HOME": str(home)}


@pytest.fixture
def own_server() -> Iterator[OwnServer]:
    running = start_throwaway_server()
    name = running.create_database()
    own = OwnServer(running, name, Database(running.admin_url(name), running.app_url(name)))
    yield own
    own.db.close()
    running.server.destroy()
    shutil.rmtree(running.home, ignore_errors=True)


@pytest.fixture
def capture_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def venue2() -> Iterator[RunningVenue]:
    """A venue with two accounts, its tape paused until the test resumes it."""
    venue = start_capture_venue(2, speed=5.0, start_paused=True)
    yield venue
    venue.stop()


