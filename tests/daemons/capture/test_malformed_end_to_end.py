"""Damaged Bybit data through the real venue, real pybit sockets and the capture daemon.

The venue sends the frames over its WebSocket hubs exactly as written (the way the tape's
own frames go out), and its REST answers gain damaged rows; the capture must lose exactly
the damaged elements, keep every stream connected and every reconcile going.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemons.db import partitions
from daemons.db.event_rows import ts
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from daemons.venue import rest as venue_rest
from daemons.venue.server import RunningVenue
from tests.daemons.capture.conftest import (
    SYMBOL,
    fast_config,
    make_daemon,
    owner,
    start_capture_venue,
    store_tenants,
)
from tests.daemons.capture.mutations import load
from tests.fixtures.waiting import wait_until

EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
EXECUTIONS = ("GET", "/v5/execution/list")
WALLET = ("GET", "/v5/account/wallet-balance")
BAD_TIME = "_test_bad_envelope_time"


def _execution(exec_id: str, now: int, **changes: Any) -> dict[str, Any]:
    row = load("rest_execution_list")["result"]["list"][0]
    return {**row, "symbol": SYMBOL, "execId": exec_id, "execTime": str(now), **changes}


def _order(order_id: str, now: int, **changes: Any) -> dict[str, Any]:
    item = load("ws_order")["data"][0]
    return {**item, "symbol": SYMBOL, "orderId": order_id, "category": "linear",
            "createdTime": str(now - 5), "updatedTime": str(now), **changes}


def _damage_rest(monkeypatch: pytest.MonkeyPatch, now: int) -> None:
    """Executions: a good row, one with a time in microseconds, a spot one. Wallet: its
    envelope's ``time`` is not a number."""
    executions = venue_rest.PRIVATE[EXECUTIONS]
    wallet = venue_rest.PRIVATE[WALLET]
    envelope = venue_rest.envelope

    def damaged_executions(call: Any) -> dict:
        result = executions(call)
        result["list"] = result["list"] + [
            _execution("rest-good", now), _execution("rest-micro", now, execTime=str(now * 1000)),
            _execution("rest-spot", now, category="spot")]
        return result

    def damaged_wallet(call: Any) -> dict:
        return {**wallet(call), BAD_TIME: True}

    def damaged_envelope(code: int, message: str, result: dict, now_ms: int) -> dict:
        answer = envelope(code, message, result, now_ms)
        if isinstance(result, dict) and result.pop(BAD_TIME, False):
            answer["time"] = "soon"
        return answer

    monkeypatch.setitem(venue_rest.PRIVATE, EXECUTIONS, damaged_executions)
    monkeypatch.setitem(venue_rest.PRIVATE, WALLET, damaged_wallet)
    monkeypatch.setattr(venue_rest, "envelope", damaged_envelope)


def _send(venue: RunningVenue, hub: str, topic: str, text: str, account: str | None = None,
          ) -> None:
    """Send ``text`` as it is to the venue's subscribers of ``topic``."""
    target = getattr(venue.server, hub)
    venue.call(lambda: target.broadcast(topic, text, account))


def test_capture_damaged_frames_and_rest_rows_from_venue_cost_only_themselves(
        db: Database, keyring: Keyring, capture_home: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    now = int(time.time() * 1000)
    _damage_rest(monkeypatch, now)
    venue = start_capture_venue(1, speed=5.0, start_paused=True)
    try:
        ids = store_tenants(db, keyring, venue)
        account_id = next(iter(ids.values()))
        name = venue.server.config.accounts[0].name
        # The tape stays paused: only pongs keep the public stream fresh, so a late pong
        # must not count as stale (the test asserts no reconnect).
        daemon = make_daemon(db, keyring, venue, capture_home,
                             fast_config(public_stale_after_s=30.0)).start()
        try:
            board = daemon.board
            label = daemon.accounts[0].label
            ticks = f"public/tickers.{SYMBOL}"
            wait_until(lambda: board.streams[ticks].events >= 1, 15, "the ticker snapshot")
            wait_until(lambda: board.streams[f"{label}/execution"].gaps >= 1, 15,
                       "the startup reconcile")
            _inject(venue, name, now)
            wait_until(lambda: board.streams[f"public/publicTrade.{SYMBOL}"].events >= 2
                       and board.streams[ticks].events >= 2
                       and board.streams[f"{label}/order"].events >= 1
                       and board.streams[f"{label}/position"].events >= 1, 15,
                       "the injected frames")
            assert daemon.writer.wait_idle(15)
            streams = [daemon.public.stream, daemon.accounts[0].stream]
            assert [(s.stats.reconnects, s.stats.handler_errors) for s in streams] == \
                [(0, 0), (0, 0)]
            counted = {key: (s.quarantined, s.other_category)
                       for key, s in board.streams.items()}
        finally:
            daemon.stop()
    finally:
        venue.stop()

    # public: the good trades and the good delta stored; the rest quarantined
    with db.market_data() as conn:
        trades = {r[0] for r in conn.execute("SELECT trade_id FROM public_trades")}
        injected = trades & {"good-1", "micro", "good-2", "nan"}
        public_quarantine = conn.execute(
            "SELECT error FROM raw_quarantine WHERE account_id IS NULL ORDER BY id").fetchall()
        tickers = conn.execute(
            "SELECT cross_seq, last_price, bid1_size FROM tickers ORDER BY exchange_ts,"
            " cross_seq").fetchall()
    assert injected == {"good-1", "good-2"}
    assert [e.split(":")[0] for (e,) in public_quarantine] == [
        "publicTrade.T", "publicTrade.p", "json", "json", "tickers.data.bid1Size"]
    before = [row for row in tickers if row[0] < 900_000_001]
    delta = [row for row in tickers if row[0] >= 900_000_001]
    assert delta == [(900_000_002, Decimal("12345.6"), before[-1][2])]  # bad bid1Size: never
    assert counted[f"public/publicTrade.{SYMBOL}"] == (2, 0)  # frames: the stream's stats
    assert counted[f"public/tickers.{SYMBOL}"] == (1, 0)

    # private: exactly the good items, other markets counted, bad ones quarantined
    user = owner(db, account_id)
    with db.unit_of_work(user) as conn:
        orders = {r[0] for r in conn.execute("SELECT order_id FROM orders")}
        executions = {r[0] for r in conn.execute("SELECT exec_id FROM private_executions")}
        positions = conn.execute("SELECT exchange_ts, position_idx, size FROM positions"
                                 " ORDER BY exchange_ts").fetchall()
        private_quarantine = conn.execute(
            "SELECT DISTINCT source, split_part(error, ':', 1), payload::jsonb ->> 'execId'"
            " FROM raw_quarantine WHERE account_id IS NOT NULL").fetchall()
        wallets = conn.execute("SELECT count(*) FROM wallets").fetchone()[0]
    assert orders == {"ws-good"}
    assert executions == {"rest-good"}
    assert sorted(private_quarantine, key=str) == [
        ("rest.execution", "execution.execTime", "rest-micro"),
        ("ws.order", "order.updatedTime", None)]
    assert counted[f"{label}/order"][1] == 2  # the spot and the option order
    assert counted[f"{label}/execution"][1] >= 1  # the spot execution, each reconcile
    # flat positions (updatedTime "0" on REST and in the injected push) at their message time
    assert positions and all(ts >= EARLIEST for ts, _, _ in positions)
    assert (ts(now + 7), 1, Decimal(0)) in positions
    # the wallet request failed on its envelope; everything else of the reconcile went on
    assert wallets == 0
    failures = [r.getMessage() for r in caplog.records if "reconcile wallet" in r.getMessage()]
    assert failures and all("malformed answer (rest.time:" in m for m in failures)
    assert not [r for r in caplog.records if "message handler failed" in r.getMessage()]
    # nothing landed in a DEFAULT partition (what `gridbot db status` warns about)
    with db.admin() as conn:
        assert partitions.default_partition_strays(conn) == []


def _inject(venue: RunningVenue, account: str, now: int) -> None:
    """Public trades, frames, ticker deltas, an order and a position push, as sent."""
    trade = {"T": now, "s": SYMBOL, "S": "Buy", "v": "0.001", "p": "100.0", "seq": 10}
    items = [{**trade, "i": "good-1"}, {**trade, "i": "micro", "T": now * 1000},
             {**trade, "i": "good-2"}, {**trade, "i": "nan", "p": "__NAN__"}]
    text = json.dumps({"topic": f"publicTrade.{SYMBOL}", "type": "snapshot", "ts": now,
                       "data": items}).replace('"__NAN__"', "NaN")
    topic = f"publicTrade.{SYMBOL}"
    _send(venue, "public", topic, text)
    _send(venue, "public", topic, text[: len(text) // 2])
    _send(venue, "public", topic, "[" * 100_000 + "]" * 100_000)
    ticker = f"tickers.{SYMBOL}"
    for cs, data in ((900_000_001, {"symbol": SYMBOL, "bid1Size": "NaN"}),
                     (900_000_002, {"symbol": SYMBOL, "lastPrice": "12345.6"})):
        _send(venue, "public", ticker, json.dumps({"topic": ticker, "type": "delta",
                                                   "ts": now + cs % 10, "cs": cs,
                                                   "data": data}))
    option = load("ws_order")["data"][0]
    orders = [_order("ws-good", now), _order("ws-spot", now, category="spot"), option,
              _order("ws-nanos", now, updatedTime=str(now * 1_000_000))]
    _send(venue, "private", "order", json.dumps(
        {"id": "x", "topic": "order", "creationTime": now, "data": orders}), account)
    flat = {**load("ws_position")["data"][0], "positionIdx": 1, "updatedTime": "0"}
    _send(venue, "private", "position", json.dumps(
        {"id": "y", "topic": "position", "creationTime": now + 7, "data": [flat]}), account)



def test_capture_failed_execution_fetch_keeps_the_rest_and_leaves_its_gap_unrecorded(
        db: Database, keyring: Keyring, capture_home: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    executions = venue_rest.PRIVATE[EXECUTIONS]
    envelope = venue_rest.envelope
    monkeypatch.setitem(venue_rest.PRIVATE, EXECUTIONS,
                        lambda call: {**executions(call), BAD_TIME: True})
    monkeypatch.setattr(venue_rest, "envelope", lambda code, message, result, now_ms: {
        **envelope(code, message, result, now_ms),
        **({"time": "soon"} if isinstance(result, dict) and result.pop(BAD_TIME, False)
           else {})})
    venue = start_capture_venue(1, speed=5.0, start_paused=True)
    try:
        account_id = next(iter(store_tenants(db, keyring, venue).values()))
        daemon = make_daemon(db, keyring, venue, capture_home).start()
        try:
            wait_until(lambda: any("failed for good" in r.getMessage()
                                   for r in caplog.records), 20, "the retries to give up")
            assert daemon.writer.wait_idle(10)
        finally:
            daemon.stop()
    finally:
        venue.stop()
    with db.unit_of_work(owner(db, account_id)) as conn:
        sides, wallets, gaps = conn.execute(
            "SELECT (SELECT count(DISTINCT position_idx) FROM positions WHERE size = 0"
            " AND exchange_ts >= %s), (SELECT count(*) FROM wallets),"
            " (SELECT count(*) FROM capture_gaps WHERE stream = 'private')",
            [EARLIEST]).fetchone()
    assert sides == 2 and wallets >= 1  # hedge mode: both flat sides, at each try's time
    assert gaps == 0  # the executions never came: the gap is not recorded as filled
