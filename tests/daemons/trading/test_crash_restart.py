"""Crash-only: `gridbot trade` killed with SIGKILL again and again while trading.

Each restart recovers from the exchange and the newest snapshot. Whatever the moment of
the kill: no order link id is ever sent twice, every order the venue holds at the end is
one the engine holds (no orphan), and the engine goes on deciding after every restart.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from daemons.status_file import read_status
from daemons.venue.testing import wait_for
from gridcore import order_ids
from tests.daemons.trading.conftest import store_tenants, venue_open_orders
from tests.fixtures.leak_guard import scan_output

KILLS = 10


@contextmanager
def trade_process(venue, env: dict[str, str], log: Path, *options: str,
                  ) -> Iterator[subprocess.Popen[str]]:
    """A real `gridbot trade` process (output in ``log``); killed at the end if alive."""
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from daemons.cli.main import app; app()", "trade",
             "--venue-url", venue.base_url, "--snapshot-interval-s", "1",
             "--refresh-interval-s", "1", "--lease-poll-s", "0.5", *options],
            stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def trading(home: Path, accounts: int) -> bool:
    """Whether a live daemon's status shows every account running."""
    directory = home / "trade"
    for path in directory.glob("*.json") if directory.is_dir() else ():
        document = read_status(path) or {}
        states = [a["state"] for a in document.get("accounts", [])]
        if len(states) == accounts and all(s == "running" for s in states):
            return True
    return False


def runs_that_decided(db, user_id) -> int:
    """How many of the user's live runs (one per daemon start) recorded a decision."""
    with db.unit_of_work(user_id) as conn:
        return conn.execute("SELECT count(DISTINCT run_id) FROM engine_decisions").fetchone()[0]


def test_trade_killed_ten_times_never_duplicates_or_orphans_an_order(
        db, keyring, venue, pg_server, db_name, tmp_path) -> None:
    tenants = store_tenants(db, keyring, venue)
    home = tmp_path / "home"
    env = {"DATABASE_URL": pg_server.admin_url(db_name),
           "GRIDBOT_APP_DATABASE_URL": pg_server.app_url(db_name), "GRIDBOT_HOME": str(home)}
    log = tmp_path / "trade.log"
    rng = random.Random(7)
    for kill in range(KILLS):
        with trade_process(venue, env, log) as proc:
            wait_for(lambda: trading(home, 2) or proc.poll() is not None, timeout_s=60,
                     what=f"trading before kill {kill + 1}")
            assert proc.poll() is None, scan_output(log.read_text(), "gridbot trade")
            time.sleep(rng.uniform(0.2, 2.5))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        for path in (home / "trade").glob("*.json"):
            path.unlink()  # the next daemon writes its own
    with trade_process(venue, env, log) as proc:
        wait_for(lambda: trading(home, 2), timeout_s=60, what="trading after the last kill")
        # A restored engine decides only when the market crosses a level: on a loaded
        # machine that can take longer than the kills' short lives, so wait for it.
        wait_for(lambda: all(runs_that_decided(db, u) >= 2 for u in tenants.users.values()),
                 timeout_s=120, what="decisions of a restarted engine")
        time.sleep(3)
        requests.post(f"{venue.base_url}/admin/tape/pause", timeout=5).raise_for_status()
        # A still market: what is in flight must arrive before the last snapshot.
        wait_for(settled(home, venue, list(tenants.accounts)), timeout_s=60,
                 what="the venue's orders and the daemon's backlog to settle")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    output = scan_output(log.read_text(), "gridbot trade")
    assert "Traceback" not in output

    for name, user_id in tenants.users.items():
        strategy = str(tenants.strategies[name][0])
        account = venue.server.core.accounts[name]
        links = venue.call(lambda a=account: [o.order_link_id for o in a.orders.values()])
        assert len(links) == len(set(links)), f"{name}: an orderLinkId was sent twice"
        assert all(order_ids.decode(link).strategy_id == strategy for link in links)
        open_now = {o["orderLinkId"] for o in venue_open_orders(venue, name)}
        with db.unit_of_work(user_id) as conn:
            runs = conn.execute("SELECT run_id, config_snapshot FROM runs"
                                " WHERE run_type = 'live' ORDER BY start_ts").fetchall()
            last_state = conn.execute(
                "SELECT state FROM engine_snapshots WHERE run_id = %s"
                " ORDER BY exchange_ts DESC LIMIT 1", [runs[-1][0]]).fetchone()[0]
        assert len(runs) == KILLS + 1
        restored = [c["restored_from"] for _, c in runs[1:]]
        assert sum(r is not None for r in restored) >= KILLS - 2, restored
        held = {row[1] for row in last_state["orders"]}
        assert open_now and open_now == held, "the engine holds exactly the venue's orders"


def settled(home: Path, venue, names: list[str], quiet_s: float = 1.5):
    """A predicate: true once the venue's open orders have not changed for ``quiet_s``
    and the daemon's status shows nothing received and unhandled."""
    seen: dict[str, object] = {"orders": None, "since": time.monotonic()}

    def check() -> bool:
        orders = {n: {o["orderLinkId"] for o in venue_open_orders(venue, n)} for n in names}
        if orders != seen["orders"]:
            seen.update(orders=orders, since=time.monotonic())
            return False
        documents = [read_status(p) or {} for p in (home / "trade").glob("*.json")]
        idle = all(a.get("backlog", 1) == 0 for d in documents for a in d.get("accounts", []))
        return idle and time.monotonic() - seen["since"] >= quiet_s
    return check


def owned_by(home: Path, daemon_id: str) -> int:
    document = read_status(home / "trade" / f"{daemon_id}.json") or {}
    return sum(a["state"] == "running" for a in document.get("accounts", []))


def test_trade_takeover_second_daemon_takes_the_accounts_of_a_killed_one(
        db, keyring, venue, pg_server, db_name, tmp_path) -> None:
    """Two daemons share the accounts (one each, or both on one); SIGKILL to the owner of
    any: the survivor trades every account within its lease poll plus a recovery."""
    tenants = store_tenants(db, keyring, venue)
    home = tmp_path / "home"
    env = {"DATABASE_URL": pg_server.admin_url(db_name),
           "GRIDBOT_APP_DATABASE_URL": pg_server.app_url(db_name), "GRIDBOT_HOME": str(home)}
    with trade_process(venue, env, tmp_path / "a.log", "--daemon-id", "alpha") as alpha, \
            trade_process(venue, env, tmp_path / "b.log", "--daemon-id", "beta") as beta:
        wait_for(lambda: owned_by(home, "alpha") + owned_by(home, "beta") == 2, timeout_s=60,
                 what="both accounts traded by the two daemons")
        victim, survivor, survivor_id = (alpha, beta, "beta") \
            if owned_by(home, "alpha") else (beta, alpha, "alpha")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        killed = time.monotonic()
        wait_for(lambda: owned_by(home, survivor_id) == 2, timeout_s=60,
                 what="the survivor trading both accounts")
        took_s = time.monotonic() - killed
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(60) == 0
    for log in ("a.log", "b.log"):
        scan_output((tmp_path / log).read_text(), f"gridbot trade {log}")
    print(f"TAKEOVER took {took_s:.2f} s (lease poll 0.5 s + recovery)")
    for name in tenants.accounts:
        links = venue.call(lambda a=venue.server.core.accounts[name]:
                           [o.order_link_id for o in a.orders.values()])
        assert len(links) == len(set(links)), "no order sent twice across the takeover"
