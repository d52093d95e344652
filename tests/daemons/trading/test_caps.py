"""Safety caps per strategy: open orders and position notional refused before sending; a
session loss over its cap cancels everything and latches the strategy until cleared."""

from __future__ import annotations

import threading
import time

from psycopg.types.json import Jsonb

from daemons.venue.testing import wait_for
from tests.daemons.trading.conftest import (
    make_daemon,
    start_trading_venue,
    store_tenants,
    trading,
    venue_open_orders,
)
from tests.daemons.trading.test_alerts import Receiver


def test_caps_open_orders_and_session_loss_latch(db, keyring, app_url, tmp_path) -> None:
    venue = start_trading_venue(2, speed=20.0)
    receiver = Receiver()
    stop = threading.Event()
    thread = None
    try:
        tenants = store_tenants(db, keyring, venue)
        capped, losing = tenants.strategies["trader1"][0], tenants.strategies["trader2"][0]
        with db.admin() as conn:
            conn.execute("UPDATE strategies SET caps = %s WHERE strategy_id = %s",
                         [Jsonb({"max_open_orders": 3}), capped])
            conn.execute("UPDATE strategies SET caps = %s WHERE strategy_id = %s",
                         [Jsonb({"max_session_loss": "0.000001"}), losing])
        from tests.daemons.trading.conftest import fast_config
        config = fast_config()
        config = type(config)(**{**{f: getattr(config, f) for f in config.__dataclass_fields__},
                                 "alert_webhook": receiver.url})
        daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url, config)
        thread = threading.Thread(target=daemon.run, args=(stop,), daemon=True)
        thread.start()
        wait_for(lambda: len(venue_open_orders(venue, "trader1")) == 3, timeout_s=30,
                 what="trader1 at its cap of 3 open orders")

        def latched() -> str | None:
            with db.admin() as conn:
                return conn.execute("SELECT latch_reason FROM strategies WHERE strategy_id = %s",
                                    [losing]).fetchone()[0]
        wait_for(latched, timeout_s=120, what="trader2's loss cap latched")
        assert "session loss" in latched()
        wait_for(lambda: venue_open_orders(venue, "trader2") == [], timeout_s=30,
                 what="trader2's orders cancelled")
        alerts = receiver.wait_for(1)
        assert any(a["kind"] == "strategy-latched" for a in alerts)
        time.sleep(1)
        assert venue_open_orders(venue, "trader2") == [], "a latched strategy places nothing"
        assert len(venue_open_orders(venue, "trader1")) <= 3
        worker = daemon.workers[tenants.accounts["trader1"]]
        assert next(iter(worker.runtimes.values())).refused_by_caps > 0
    finally:
        stop.set()
        if thread is not None:
            thread.join(60)
        receiver.close()
        venue.stop()


def test_strategy_whose_orders_the_exchange_keeps_refusing_is_latched(
        db, keyring, app_url, tmp_path) -> None:
    """1 USDT cannot margin a 0.01 BTC order: 20 refusals in a row (110007) latch it."""
    venue = start_trading_venue(1, usdt=1)
    try:
        tenants = store_tenants(db, keyring, venue,
                                grid={"amount": "0.01", "grid_count": 10, "grid_step": 0.1})
        daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url)
        strategy = tenants.strategies["trader1"][0]

        def reason() -> str | None:
            with db.admin() as conn:
                return conn.execute("SELECT latch_reason FROM strategies"
                                    " WHERE strategy_id = %s", [strategy]).fetchone()[0]
        with trading(daemon):
            wait_for(reason, timeout_s=60, what="the strategy latched")
        assert "keeps refusing" in reason() and "110007" in reason()
        assert venue_open_orders(venue, "trader1") == []
    finally:
        venue.stop()
