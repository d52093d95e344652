"""Bad input stops only what it concerns; a shadow run beside a live run on one market."""

from __future__ import annotations

import time

import requests
from psycopg.types.json import Jsonb

from daemons.db import accounts, users
from daemons.venue.testing import wait_for
from tests.daemons.trading.conftest import (
    make_daemon,
    start_trading_venue,
    store_tenants,
    trading,
    venue_open_orders,
)


def test_trade_bad_input_gives_its_own_error_and_the_others_trade(
        db, keyring, app_url, tmp_path) -> None:
    venue = start_trading_venue(3)
    try:
        tenants = store_tenants(db, keyring, venue)
        good, unlisted, tiny = (tenants.strategies[n][0] for n in ("trader1", "trader2",
                                                                     "trader3"))
        with db.admin() as conn:
            conn.execute("UPDATE strategies SET symbol = 'DOGEUSDT' WHERE strategy_id = %s",
                         [unlisted])
            conn.execute("UPDATE strategies SET config_json = %s WHERE strategy_id = %s",
                         [Jsonb({"amount": "0.0001", "grid_count": 10}), tiny])
            refused_config = conn.execute(
                "INSERT INTO strategies (user_id, account_id, symbol, config_json)"
                " SELECT user_id, account_id, 'ETHUSDT', %s FROM bybit_accounts"
                " WHERE account_id = %s RETURNING strategy_id",
                [Jsonb({"amount": "0.01", "grid_count": 1}), tenants.accounts["trader1"]],
            ).fetchone()[0]
            user = users.add_user(conn, "nokey", "nokey@example.com")
        with db.unit_of_work(user.user_id) as conn:
            account = accounts.add_account(conn, user.user_id, "bare", "local")
            conn.execute("INSERT INTO strategies (account_id, symbol, config_json)"
                         " VALUES (%s, 'BTCUSDT', %s)", [account.account_id,
                                                         Jsonb({"amount": "0.001"})])
        daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url)
        with trading(daemon):
            wait_for(lambda: len(venue_open_orders(venue, "trader1")) >= 4, timeout_s=30,
                     what="the good strategy's grid")
            time.sleep(1)
            document = daemon.snapshot()
        strategies = {s["strategy_id"]: s for a in document["accounts"]
                      for s in a["strategies"]}
        assert "error" not in strategies[good]
        assert "DOGEUSDT is not listed" in strategies[unlisted]["error"]
        assert "below BTCUSDT's minimum order quantity" in strategies[tiny]["error"]
        assert "configuration refused" in strategies[refused_config]["error"]
        assert "grid_count" in strategies[refused_config]["error"]
        assert document["refused"] == [{"account": "nokey/bare",
                                        "reason": f"account {account.account_id} has no "
                                                  "active credential"}]
        assert venue_open_orders(venue, "trader2") == []
        assert venue_open_orders(venue, "trader3") == []
    finally:
        venue.stop()


def test_trade_shadow_run_beside_a_live_run_decides_alike_and_stores_its_fills(
        db, keyring, venue, app_url, tmp_path) -> None:
    tenants = store_tenants(db, keyring, venue, modes={"trader2": "shadow"})
    daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url)
    with trading(daemon):
        wait_for(lambda: len(venue_open_orders(venue, "trader1")) >= 4, timeout_s=30,
                 what="the live grid")

        def shadow_fills() -> int:
            with db.unit_of_work(tenants.users["trader2"]) as conn:
                return conn.execute("SELECT count(*) FROM sim_executions").fetchone()[0]
        wait_for(lambda: shadow_fills() > 0, timeout_s=90, what="a shadow fill stored")
    assert venue_open_orders(venue, "trader2") == [], "a shadow run sends nothing"

    def first_grid(name: str) -> list[tuple]:
        with db.unit_of_work(tenants.users[name]) as conn:
            rows = conn.execute("SELECT side, price, qty, intent->>'reduce_only'"
                                " FROM engine_decisions WHERE intent_kind = 'place'"
                                " ORDER BY seq LIMIT 6").fetchall()
            run_type = conn.execute("SELECT run_type FROM runs").fetchone()[0]
        assert run_type == ("shadow" if name == "trader2" else "live")
        return rows
    assert first_grid("trader1") == first_grid("trader2")


def test_trade_credential_rotated_while_trading_restarts_only_that_account(
        db, keyring, venue, app_url, tmp_path) -> None:
    """The refresh sees the new credential: that account's worker restarts with the new key
    (recovering its orders from the exchange), the other account's worker is untouched."""
    from daemons.db import credentials
    from daemons.secrets.envelope import Secret

    tenants = store_tenants(db, keyring, venue)
    daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url)
    with trading(daemon):
        wait_for(lambda: all(len(venue_open_orders(venue, n)) >= 4 for n in tenants.accounts),
                 timeout_s=30, what="both grids")
        first, other = (daemon.workers[tenants.accounts[n]] for n in ("trader1", "trader2"))
        requests.post(f"{venue.base_url}/admin/tape/pause", timeout=5).raise_for_status()
        time.sleep(1)  # a still market: the orders stay as they are
        before = {o["orderLinkId"] for o in venue_open_orders(venue, "trader1")}
        spec = next(a for a in venue.server.config.accounts if a.name == "trader1")
        new_key, new_secret = spec.more_keys[0]
        with db.unit_of_work(tenants.users["trader1"]) as conn:
            credentials.rotate_credential(conn, keyring, tenants.accounts["trader1"], new_key,
                                          Secret(new_secret))
        wait_for(lambda: daemon.workers.get(tenants.accounts["trader1"]) not in (None, first)
                 and daemon.workers[tenants.accounts["trader1"]].state == "running",
                 timeout_s=30, what="trader1 restarted with the new key")
        rotated = daemon.workers[tenants.accounts["trader1"]]
        assert rotated.account.api_key == new_key
        assert daemon.workers[tenants.accounts["trader2"]] is other, "trader2 untouched"
        runtime = next(iter(rotated.runtimes.values()))
        assert before == {o.order_link_id for o in runtime.engine.orders.all_orders()}, \
            "the orders placed with the old key are the new worker's"
    links = venue.call(lambda: [o.order_link_id for o in
                                venue.server.core.accounts["trader1"].orders.values()])
    assert len(links) == len(set(links))
