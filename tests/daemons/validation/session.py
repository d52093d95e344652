"""A recorded trading session on the local venue, for the comparison's proofs.

Real parts only: the local venue (its own hidden queue, depth and latency), the trading
daemon (``TradeDaemon``) and the capture daemon (``CaptureDaemon``) in this process, over
real sockets, into a real PostgreSQL database. Four accounts trade one BTCUSDT grid each
on an accelerated market:

* ``trader1``: live, nothing wrong (the clean comparison);
* ``trader2``: live, its order acknowledgements held back by the venue (``ack_delay``):
  a venue with extra latency for this account;
* ``trader3``: live, nothing wrong while trading (the tests change what the replay
  assumes about its engine afterwards);
* ``trader4``: shadow (its simulated fills are its live side).

Part-way through, the capture daemon is stopped for longer than REST can recover the public
trades of (a capture gap), then started again. :class:`Session` records the moments.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import requests

from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from daemons.venue.config import parse_symbols
from daemons.venue.server import RunningVenue
from daemons.venue.testing import wait_for
from tests.daemons.capture.conftest import fast_config as capture_config
from tests.daemons.capture.conftest import make_daemon as make_capture
from tests.daemons.trading.conftest import make_daemon, start_trading_venue, store_tenants

GRID = {"amount": "0.001", "grid_count": 20, "grid_step": 0.02}
SPEED = 8.0
VENUE_LATENCY_MS = 20.0
#: The venue holds trader2's order acknowledgements this long (its ``ack_delay`` fault).
ACK_DELAY_MS = 400
#: Wall seconds of trading before the capture gap, of the gap, and after it.
CLEAN_S, GAP_S, AFTER_S = 45.0, 8.0, 12.0


@dataclass(frozen=True)
class Session:
    """Who traded, their runs, and when the capture gap was (wall ms, the venue's time)."""

    users: dict[str, UUID]
    runs: dict[str, UUID]
    usernames: dict[str, str]
    gap_start_ms: int
    gap_end_ms: int
    end_ms: int

    @property
    def clean_end_ms(self) -> int:
        """The end of the clean part: a second before capture was stopped (what its streams
        had delivered but it had not handled yet when it stopped is not stored)."""
        return self.gap_start_ms - 1000


def record_session(db: Database, keyring: Keyring, home: Path, app_url: str) -> Session:
    """Trade, capture (with a gap) and stop; every run is finished when this returns."""
    venue = start_trading_venue(4, speed=SPEED, latency_ms_median=VENUE_LATENCY_MS,
                                symbols=parse_symbols("BTCUSDT"))
    capture = None
    stop = threading.Event()
    thread = None
    try:
        tenants = store_tenants(db, keyring, venue, grid=GRID, modes={"trader4": "shadow"})
        _fault(venue, "ack_delay", "trader2", ms=str(ACK_DELAY_MS))
        capture = make_capture(db, keyring, venue, home / "capture", capture_config()).start()
        wait_for(lambda: _captured_trades(db) > 100, timeout_s=30, what="captured trades")
        # Accounting parity starts from the newest position report before a run's window:
        # capture's first reconcile of every account must be stored before trading starts
        # (on a loaded machine it can come after a hundred trades).
        wait_for(lambda: _accounts_with_positions(db) == len(tenants.users), timeout_s=60,
                 what="every account's positions captured")
        daemon = make_daemon(db, keyring, venue, home / "trade", app_url)
        thread = threading.Thread(target=daemon.run, args=(stop,), daemon=True)
        thread.start()
        time.sleep(CLEAN_S)
        gap_start = _now_ms()
        capture.stop()
        # On a loaded machine capture can lag: the gap starts at what it last stored.
        gap_start = min(gap_start, _last_trade_ms(db))
        time.sleep(GAP_S)
        capture = make_capture(db, keyring, venue, home / "capture", capture_config()).start()
        gap_end = _now_ms()
        time.sleep(AFTER_S)
        stop.set()
        thread.join(60)
        end = _now_ms()
        time.sleep(2)  # the last private messages and trades reach capture
    finally:
        stop.set()
        if thread is not None:
            thread.join(60)
        if capture is not None:
            capture.stop()
        venue.stop()
    runs = {}
    for name, user_id in tenants.users.items():
        with db.unit_of_work(user_id) as conn:
            runs[name] = conn.execute("SELECT run_id FROM runs WHERE run_type <> 'backtest'"
                                      " ORDER BY start_ts DESC LIMIT 1").fetchone()[0]
    return Session(dict(tenants.users), runs, {n: f"user-{n}" for n in tenants.users},
                   gap_start, gap_end, end)


def assume_grid_step(db: Database, run_id: UUID, grid_step: float) -> None:
    """A fault for the comparison to find: the replay reads the engine's parameters from
    the run's snapshots; they now say another grid step than the live engine traded with
    (its replay decides differently: engine divergence)."""
    with db.admin() as conn:
        conn.execute("UPDATE engine_snapshots SET state = jsonb_set(state, '{config,"
                     "grid_step_pct}', to_jsonb(%s::float8)) WHERE run_id = %s",
                     [grid_step, run_id])


def _fault(venue: RunningVenue, kind: str, account: str, **options: str) -> None:
    requests.post(f"{venue.base_url}/admin/faults/{kind}",
                  params={"account": account, "seconds": "3600", **options},
                  timeout=5).raise_for_status()


def _captured_trades(db: Database) -> int:
    with db.market_data() as conn:
        return conn.execute("SELECT count(*) FROM public_trades").fetchone()[0]


def _accounts_with_positions(db: Database) -> int:
    with db.admin() as conn:
        return conn.execute("SELECT count(DISTINCT account_id) FROM positions"
                            " WHERE position_idx IN (1, 2)").fetchone()[0]


def _last_trade_ms(db: Database) -> int:
    with db.market_data() as conn:
        return conn.execute("SELECT (extract(epoch FROM max(exchange_ts)) * 1000)::bigint"
                            " FROM public_trades").fetchone()[0]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
