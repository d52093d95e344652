"""Per-account fault isolation: a revoked key trips one account's breaker, the others trade.

The breaker opens after 3 consecutive failures and backs off (1 s, 2 s, 4 s in the test
policy; 30 s, 60 s, 120 s by default); when it gives up the account is put in ``error``,
its worker stops, an alert reaches the webhook, and ``gridbot accounts enable`` (status
back to ``enabled``) brings it back on the next refresh.
"""

from __future__ import annotations

import threading

import requests

from daemons.venue.testing import wait_for
from tests.daemons.trading.conftest import (
    fast_config,
    make_daemon,
    store_tenants,
    trading,
    venue_open_orders,
)
from tests.daemons.trading.test_alerts import Receiver


def account_status(db, account_id) -> str:
    with db.admin() as conn:
        return conn.execute("SELECT status FROM bybit_accounts WHERE account_id = %s",
                            [account_id]).fetchone()[0]


def test_breaker_revoked_key_puts_one_account_in_error_while_the_other_trades(
        db, keyring, venue, app_url, tmp_path) -> None:
    tenants = store_tenants(db, keyring, venue)
    receiver = Receiver()
    requests.post(f"{venue.base_url}/admin/faults/auth_reject",
                  params={"account": "trader1", "seconds": "600"}, timeout=5).raise_for_status()
    config = fast_config()
    config = type(config)(**{**{f: getattr(config, f) for f in config.__dataclass_fields__},
                             "alert_webhook": receiver.url, "alert_throttle_s": 0.0})
    daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url, config)
    with trading(daemon):
        wait_for(lambda: account_status(db, tenants.accounts["trader1"]) == "error",
                 timeout_s=60, what="trader1 in error")
        wait_for(lambda: len(venue_open_orders(venue, "trader2")) >= 4, timeout_s=30,
                 what="the other account trading")
        alerts = receiver.wait_for(1)
        assert alerts[0]["kind"] == "account-error" and "trader1" in alerts[0]["subject"]
        assert "10003" in alerts[0]["message"]
        wait_for(lambda: tenants.accounts["trader1"] not in daemon.workers, timeout_s=30,
                 what="trader1's worker stopped")
        document = daemon.snapshot()
        assert {e["account"] for e in document["errors"]} == {"user-trader1/trader1"}
        assert venue_open_orders(venue, "trader1") == []

        # The operator fixes the key and enables the account again.
        requests.delete(f"{venue.base_url}/admin/faults/auth_reject", timeout=5)
        with db.admin() as conn:
            conn.execute("UPDATE bybit_accounts SET status = 'enabled' WHERE account_id = %s",
                         [tenants.accounts["trader1"]])
        wait_for(lambda: len(venue_open_orders(venue, "trader1")) >= 4, timeout_s=60,
                 what="trader1 trading again after it was enabled")
    receiver.close()


def test_breaker_rate_limit_storm_slows_one_account_without_tripping(
        db, keyring, venue, app_url, tmp_path) -> None:
    """10006 is Bybit refusing before looking: waited out (reset header), never a failure."""
    tenants = store_tenants(db, keyring, venue)
    requests.post(f"{venue.base_url}/admin/faults/rate_limit",
                  params={"account": "trader1", "seconds": "3"}, timeout=5).raise_for_status()
    daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url)
    with trading(daemon):
        wait_for(lambda: all(len(venue_open_orders(venue, n)) >= 4 for n in tenants.accounts),
                 timeout_s=60, what="both grids despite the storm")
        worker = daemon.workers[tenants.accounts["trader1"]]
        assert worker.breaker.state.value == "closed"
        assert account_status(db, tenants.accounts["trader1"]) == "enabled"


def test_executor_waits_out_a_rate_limit_and_places_once(venue) -> None:
    """A placement refused with 10006 is sent again after Bybit's reset time, once."""
    from decimal import Decimal

    from daemons.bybit.endpoints import endpoints_for
    from daemons.bybit.rest import BybitRest
    from daemons.secrets.envelope import Secret
    from daemons.trading.breaker import CircuitBreaker
    from daemons.trading.executor import LiveExecutor
    from gridcore.intents import PlaceLimitIntent

    spec = venue.server.config.accounts[0]
    rest = BybitRest(endpoints_for("local", venue.base_url), spec.api_key,
                     Secret(spec.api_secret))
    executor = LiveExecutor(rest, CircuitBreaker())
    requests.post(f"{venue.base_url}/admin/faults/rate_limit",
                  params={"account": spec.name, "seconds": "1.5"}, timeout=5).raise_for_status()
    price = Decimal(venue.server.core.market.last_ticks - 50) * Decimal("0.1")
    intent = PlaceLimitIntent(symbol="BTCUSDT", side="Buy", price=price, qty=Decimal("0.001"),
                              reduce_only=False, position_idx=1, client_order_id="g9-LB1-0",
                              grid_level=0, direction="long")
    assert executor.place(intent) == []
    assert executor.stats.rate_limited > 0 and executor.stats.placed == 1
    account = venue.server.core.accounts[spec.name]  # every order, open or already filled:
    links = venue.call(lambda: [o.order_link_id for o in account.orders.values()])
    assert links == ["g9-LB1-0"]  # the tape runs on, and 5 USD under it may fill at once
    assert executor.breaker.failures == 0


def test_private_stream_dropping_again_and_again_catches_up_by_rest(
        db, keyring, app_url, tmp_path) -> None:
    """Fills and cancels of a stream outage are read by REST on every reconnect: at the end
    the engine holds exactly the orders the venue holds."""
    from tests.daemons.trading.conftest import start_trading_venue

    venue = start_trading_venue(2, speed=20.0)
    daemon = None
    stop = threading.Event()
    try:
        tenants = store_tenants(db, keyring, venue)
        daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url)
        thread = threading.Thread(target=daemon.run, args=(stop,), daemon=True)
        thread.start()
        wait_for(lambda: len(venue_open_orders(venue, "trader1")) >= 4, timeout_s=30,
                 what="trader1's grid")
        worker = daemon.workers[tenants.accounts["trader1"]]
        for _ in range(12):
            requests.post(f"{venue.base_url}/admin/ws/drop",
                          params={"stream": "private", "account": "trader1"},
                          timeout=5).raise_for_status()
            stop.wait(0.7)
        wait_for(lambda: worker.catch_ups >= 5, timeout_s=30, what="catch-ups")
        requests.post(f"{venue.base_url}/admin/tape/pause", timeout=5).raise_for_status()
        runtime = next(iter(worker.runtimes.values()))

        def held() -> set[str]:
            return {o.order_link_id for o in runtime.engine.orders.all_orders()}

        def venue_holds() -> set[str]:
            return {o["orderLinkId"] for o in venue_open_orders(venue, "trader1")}

        # The market is still: once the last reconnect's catch-up and every message in
        # flight are handled, the engine holds what the venue holds.
        wait_for(lambda: worker.private.is_connected() and worker.backlog == 0
                 and held() == venue_holds(), timeout_s=30, what="the engine caught up")
        assert held() == venue_holds()
        assert worker.private.stats.reconnects >= 5
    finally:
        stop.set()
        if daemon is not None:
            thread.join(60)
        venue.stop()
