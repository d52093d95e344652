"""The running daemon follows the database: accounts, strategies and credentials change
without a restart (the timer here; SIGHUP in test_cli)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.rest import BybitRest
from daemons.bybit.streams import TradeMark
from daemons.capture.public import PublicCapture
from daemons.capture.reconciler import Reconciler
from daemons.capture.status import StatusBoard, render
from daemons.db import accounts, credentials
from daemons.db.event_writer import EventWriter
from daemons.db.session import Database
from daemons.db.targets import discover
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import Keyring
from daemons.venue.server import RunningVenue
from gridcore.events import PublicTradeEvent
from tests.daemons.capture.conftest import (
    OwnServer,
    captured_trades,
    fast_config,
    make_daemon,
    owner,
    store_tenants,
)
from tests.fixtures.waiting import wait_until


def set_account_status(db: Database, account_id: UUID, status: str) -> None:
    with db.unit_of_work(owner(db, account_id)) as conn:
        accounts.set_status(conn, account_id, status)


def set_strategies_enabled(db: Database, enabled: bool) -> None:
    with db.admin() as conn:
        conn.execute("UPDATE strategies SET is_enabled = %s", [enabled])


def subscribed(venue: RunningVenue, account: str) -> bool:
    """Whether an authenticated private connection of ``account`` holds its topics."""
    hub = venue.server.private
    return venue.call(lambda: any(c.account == account and "execution" in c.topics
                                  for c in hub.connections))


def wallet_rows(db: Database, account_id: UUID) -> int:
    with db.unit_of_work(owner(db, account_id)) as conn:
        return conn.execute("SELECT count(*) FROM wallets WHERE account_id = %s",
                            [account_id]).fetchone()[0]


def test_daemon_refresh_follows_accounts_strategies_and_rotated_credentials(
        db: Database, keyring: Keyring, venue2: RunningVenue, capture_home: Path,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = store_tenants(db, keyring, venue2)
    first, second = "user-trader1/trader1", "user-trader2/trader2"
    upkeeps: list[int] = []
    real_upkeep = db.upkeep
    monkeypatch.setattr(db, "upkeep", lambda: (upkeeps.append(1), real_upkeep())[1])
    set_account_status(db, ids["trader2"], "disabled")
    set_strategies_enabled(db, False)
    daemon = make_daemon(db, keyring, venue2, capture_home,
                         fast_config(refresh_interval_s=0.3, upkeep_interval_s=1.0)).start()
    try:
        assert daemon.public is None and daemon.account_names == [first]

        # a strategy enabled: its symbol's public streams start, and trades are stored
        set_strategies_enabled(db, True)
        wait_until(lambda: daemon.public is not None and daemon.public.stream.is_connected(),
                   10, "public stream")
        venue2.call(venue2.server.clock.resume)
        wait_until(lambda: len(captured_trades(db)) > 20, 20, "captured trades")
        venue2.call(venue2.server.clock.pause)

        # an account enabled: its streams start and it is reconciled from its resume point
        set_account_status(db, ids["trader2"], "enabled")
        wait_until(lambda: second in daemon.account_names, 10, "second account")
        added = daemon.accounts[daemon.account_names.index(second)]
        wait_until(added.stream.is_connected, 10, "second account's stream")
        wait_until(lambda: wallet_rows(db, ids["trader2"]) > 0, 10, "second account's wallet")

        # a credential rotated: the account's streams are reopened with the new credential
        old = daemon.accounts[daemon.account_names.index(first)]
        (new_key, new_secret), = venue2.server.config.accounts[0].more_keys
        with db.unit_of_work(owner(db, ids["trader1"])) as conn:
            rotated = credentials.rotate_credential(conn, keyring, ids["trader1"], new_key,
                                                    Secret(new_secret))
        wait_until(lambda: old not in daemon.accounts, 10, "re-keyed account")
        new = daemon.accounts[daemon.account_names.index(first)]
        assert new.target.credential_id == rotated.credential_id and new.target.api_key == new_key
        assert old.closed and not old.stream.is_connected()
        wait_until(lambda: new.stream.is_connected() and subscribed(venue2, "trader1"), 10,
                   "re-keyed account's stream")  # authenticated: the venue took its topics
        assert new.stream.stats.auth_failures == 0

        # an account disabled: its streams close and leave the status
        set_account_status(db, ids["trader1"], "disabled")
        wait_until(lambda: daemon.account_names == [second], 10, "disabled account dropped")
        assert new.closed and not new.stream.is_connected()
        streams = [row["stream"] for row in daemon.snapshot()["streams"]]
        assert not [s for s in streams if first in s]
        assert any(second in s for s in streams) and "public/publicTrade.BTCUSDT" in streams

        # an enabled account that cannot be captured is shown with its reason, once logged
        user = owner(db, ids["trader2"])
        with db.unit_of_work(user) as conn:
            accounts.add_account(conn, user, "nokey", "local")
        wait_until(lambda: daemon.snapshot()["refused"], 10, "refused account")
        shown = render(daemon.snapshot())
        assert "not captured: user-trader2/nokey: " in shown and "no active credential" in shown
        assert daemon.account_names == [second]
        time.sleep(1.0)  # three more refreshes: the refusal is logged once, not each time
        assert sum("is not captured" in r.getMessage() for r in caplog.records) == 1
        assert len(upkeeps) >= 2  # at start, then on its own interval while running
    finally:
        daemon.stop()


def test_symbol_added_to_a_running_public_capture_resumes_from_its_last_stored_trade(
        db: Database, tmp_path: Path) -> None:
    endpoints = endpoints_for("local", "http://127.0.0.1:9")  # never connected here
    writer = EventWriter(db, tmp_path / "spill", name="capture")
    board = StatusBoard()
    public = PublicCapture(endpoints, ("BTCUSDT",), writer, board,
                           Reconciler(writer, board, BybitRest(endpoints), ("BTCUSDT",)))
    mark = TradeMark(1_700_000_000_000, "eth-41", 41)
    public.add_symbols(("ETHUSDT", "BTCUSDT"), {"ETHUSDT": mark})
    assert public.symbols == ("BTCUSDT", "ETHUSDT")
    assert "public/publicTrade.ETHUSDT" in board.streams
    first = PublicTradeEvent(symbol="ETHUSDT", exchange_ts=1_700_000_090_000, local_ts=0,
                             seq=60, trade_id="eth-60", side="Buy", price=Decimal(1),
                             size=Decimal(1))
    gap = public.trades["ETHUSDT"].observe([first])
    assert gap is not None and gap.before == mark and gap.reason == "reconnect"


def test_discover_reuses_known_targets_and_decrypts_only_rotated_credentials(
        db: Database, keyring: Keyring, venue2: RunningVenue) -> None:
    ids = store_tenants(db, keyring, venue2)
    first = discover(db, keyring, "local")
    again = discover(db, keyring, "local", first.accounts)
    assert len(again.accounts) == 2
    assert all(a is b for a, b in zip(first.accounts, again.accounts, strict=True))
    (new_key, new_secret), = venue2.server.config.accounts[0].more_keys
    with db.unit_of_work(owner(db, ids["trader1"])) as conn:
        credentials.rotate_credential(conn, keyring, ids["trader1"], new_key, Secret(new_secret))
    third = {t.account_id: t for t in discover(db, keyring, "local", again.accounts).accounts}
    rotated, kept = third[ids["trader1"]], third[ids["trader2"]]
    decrypted_new_secret = rotated.secret.reveal() == new_secret  # no secret in a failure
    assert rotated.api_key == new_key and decrypted_new_secret
    assert kept is {t.account_id: t for t in again.accounts}[ids["trader2"]]


def test_refresh_that_fails_midway_changes_nothing_and_the_next_one_applies(
        db: Database, keyring: Keyring, venue2: RunningVenue, capture_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = store_tenants(db, keyring, venue2)
    set_account_status(db, ids["trader2"], "disabled")
    daemon = make_daemon(db, keyring, venue2, capture_home).start()
    try:
        before = list(daemon.accounts)
        set_account_status(db, ids["trader2"], "enabled")
        set_account_status(db, ids["trader1"], "disabled")
        real_resume_ms = daemon._resume_ms

        def database_gone(target: object) -> int:
            raise OSError("connection refused")

        monkeypatch.setattr(daemon, "_resume_ms", database_gone)
        daemon.refresh()  # logged, not raised: the refresh thread must outlive it
        assert daemon.accounts == before and not before[0].closed
        monkeypatch.setattr(daemon, "_resume_ms", real_resume_ms)
        daemon.refresh()
        assert daemon.account_names == ["user-trader2/trader2"] and before[0].closed
    finally:
        daemon.stop()


def test_refresh_right_after_a_database_restart_applies_new_targets(
        own_server: OwnServer, keyring: Keyring, venue2: RunningVenue, capture_home: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    db = own_server.db
    ids = store_tenants(db, keyring, venue2)
    set_account_status(db, ids["trader2"], "disabled")
    # refreshed by hand below: the timer must not get there first
    daemon = make_daemon(db, keyring, venue2, capture_home,
                         fast_config(refresh_interval_s=3600.0)).start()
    try:
        assert daemon.account_names == ["user-trader1/trader1"]
        set_account_status(db, ids["trader2"], "enabled")
        own_server.stop()  # kills the connections the daemon keeps for its next refresh
        own_server.start()
        daemon.refresh()
        assert "not refreshed" not in caplog.text
        assert daemon.account_names == ["user-trader1/trader1", "user-trader2/trader2"]
    finally:
        daemon.stop()
