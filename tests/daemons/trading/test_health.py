"""The loopback /healthz and Prometheus /metrics of a trading daemon."""

from __future__ import annotations

import dataclasses

import psycopg
import requests

from daemons.venue.testing import wait_for
from tests.daemons.trading.conftest import (
    fast_config,
    make_daemon,
    store_tenants,
    trading,
    venue_open_orders,
)


def test_health_endpoint_reports_ok_metrics_and_a_lost_lease_session(
        db, keyring, venue, app_url, pg_server, db_name, tmp_path) -> None:
    store_tenants(db, keyring, venue)
    # Leases taken at start only: a poll could reconnect before /healthz is asked.
    config = dataclasses.replace(fast_config(), health_port=0, lease_poll_s=3600.0)
    daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url, config,
                         daemon_id="healthy")
    with trading(daemon):
        wait_for(lambda: all(len(venue_open_orders(venue, n)) >= 4
                             for n in ("trader1", "trader2")), timeout_s=30, what="grids")
        base = f"http://127.0.0.1:{daemon.health.port}"
        health = requests.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json() == {"status": "ok", "problems": []}
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        assert "gridbot_trade_accounts 2.0" in metrics
        assert 'gridbot_trade_breaker_state{account="user-trader1/trader1"} 0.0' in metrics
        assert 'gridbot_trade_backlog{account="user-trader1/trader1"}' in metrics
        assert 'gridbot_trade_orders_total{account="user-trader1/trader1",outcome="placed"}' \
            in metrics
        assert requests.get(f"{base}/nothing", timeout=5).status_code == 404
        with psycopg.connect(pg_server.admin_url(db_name), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE application_name = 'gridbot-trade:healthy'")
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=5).status_code == 503,
                 timeout_s=10, what="the lost lease session noticed")
        unhealthy = requests.get(f"{base}/healthz", timeout=5)
        assert unhealthy.status_code == 503
        assert "lease connection lost" in unhealthy.json()["problems"]
