"""``gridbot trade status``: every trading daemon's accounts and strategies, as a table.

Each daemon writes ``$GRIDBOT_HOME/trade/<daemon id>.json`` (:mod:`daemons.status_file`)
every second: per account its state, breaker, last event, orders sent, refused and failed,
and decision latency p50/p99; per strategy its run, mode, open orders and latch.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from daemons.status_file import read_status, state


def read_all(home: Path) -> list[dict[str, Any]]:
    """Every daemon's last status document under ``home`` (newest first)."""
    directory = Path(home) / "trade"
    documents = [read_status(p) for p in sorted(directory.glob("*.json"))] \
        if directory.is_dir() else []
    return sorted((d for d in documents if d is not None),
                  key=lambda d: d.get("updated_ms", 0), reverse=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _clock(ms: int) -> str:
    if not ms:
        return "-"
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}"


def rows(document: dict[str, Any]) -> list[list[str]]:
    """One row per strategy (account columns repeated), for the status table."""
    table = []
    for account in document.get("accounts", []):
        latency = account["decision_ms"]
        base = [account["account"], account["state"], account["breaker"],
                _clock(account["last_event_ms"]), _ms(latency["p50"]), _ms(latency["p99"]),
                str(account["orders"]["placed"]), str(account["orders"]["rejected"]),
                str(account["orders"]["failures"])]
        strategies = account["strategies"] or [{}]
        for strategy in strategies:
            if "error" in strategy:
                detail = [str(strategy["strategy_id"]), "-", "-", "-",
                          f"error: {strategy['error']}"]
            elif strategy:
                detail = [str(strategy["strategy_id"]), strategy["symbol"], strategy["mode"],
                          str(strategy["open_orders"]),
                          f"latched: {strategy['latched']}" if strategy["latched"] else ""]
            else:
                detail = ["-", "-", "-", "-", account.get("reason", "")]
            table.append(base + detail)
    return table


HEADERS = ["account", "state", "breaker", "last event", "p50 ms", "p99 ms", "placed",
           "refused", "failures", "strategy", "symbol", "mode", "open", "note"]


def headline(document: dict[str, Any], now_ms: int | None = None) -> str:
    return (f"trade daemon {document['daemon_id']} ({document['environment']}):"
            f" {state(document, now_ms)}; writer "
            f"{'up' if document['writer']['db_up'] else 'DATABASE DOWN'},"
            f" buffered {document['writer']['buffered_rows']} rows")
