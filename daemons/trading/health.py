"""The daemon's loopback HTTP endpoint: ``/healthz`` for probes, ``/metrics`` for Prometheus.

Metrics are read from the daemon's status document when scraped (a custom collector), so
the trading path pays nothing for them. ``/healthz`` answers 200 while the daemon runs,
its lease session answers and its writer reaches the database; 503 with the reasons
otherwise (a load balancer or an orchestrator restarts it; the accounts it held are taken
over by another daemon meanwhile).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

BREAKER_LEVEL = {"closed": 0, "half-open": 1, "open": 2, "tripped": 3}


class StatusCollector(Collector):
    """Prometheus metrics from a status document (see :func:`daemon.worker_status`)."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        document = self._snapshot()
        accounts = document.get("accounts", [])
        owned = GaugeMetricFamily("gridbot_trade_accounts", "Accounts this daemon trades.")
        owned.add_metric([], len(accounts))
        yield owned
        breaker = GaugeMetricFamily(
            "gridbot_trade_breaker_state",
            "Circuit breaker per account: 0 closed, 1 half-open, 2 open, 3 tripped.",
            labels=["account"])
        events = CounterMetricFamily("gridbot_trade_events", "Events handled per account.",
                                     labels=["account"])
        backlog = GaugeMetricFamily("gridbot_trade_backlog",
                                    "Events received but not handled yet, per account.",
                                    labels=["account"])
        orders = CounterMetricFamily("gridbot_trade_orders",
                                     "Order requests per account and outcome.",
                                     labels=["account", "outcome"])
        latency = GaugeMetricFamily(
            "gridbot_trade_decision_latency_ms",
            "Event receipt to REST request sent, recent window, per account.",
            labels=["account", "quantile"])
        latched = GaugeMetricFamily("gridbot_trade_strategy_latched",
                                    "1 while a strategy's safety cap latch is set.",
                                    labels=["account", "strategy"])
        for account in accounts:
            name = account["account"]
            breaker.add_metric([name], BREAKER_LEVEL.get(account["breaker"], 3))
            events.add_metric([name], account["events"])
            backlog.add_metric([name], account.get("backlog", 0))
            for outcome, count in account["orders"].items():
                orders.add_metric([name, outcome], count)
            for quantile, key in (("0.5", "p50"), ("0.99", "p99")):
                value = account["decision_ms"][key]
                if value is not None:
                    latency.add_metric([name, quantile], value)
            for strategy in account["strategies"]:
                if "latched" in strategy:
                    latched.add_metric([name, str(strategy["strategy_id"])],
                                       1 if strategy["latched"] else 0)
        yield from (breaker, events, backlog, orders, latency, latched)


class HealthServer:
    """``/healthz`` and ``/metrics`` on a loopback port (0: any free port)."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]],
                 health: Callable[[], list[str]], *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        registry = CollectorRegistry()
        registry.register(StatusCollector(snapshot))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(registry), "text/plain; version=0.0.4")
                elif path == "/healthz":
                    problems = health()
                    body = json.dumps({"status": "ok" if not problems else "unhealthy",
                                       "problems": problems}).encode()
                    self._send(200 if not problems else 503, body, "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="trade-health",
                                        daemon=True)

    def __repr__(self) -> str:
        return f"HealthServer(port={self.port})"

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
