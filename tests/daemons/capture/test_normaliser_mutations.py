"""Every official sample, mutated every way (tests/daemons/capture/mutations.py), through the
capture's own entry points into PostgreSQL: exactly the bad element is lost.

WebSocket frames go in as the text pybit hands over (``Stream._receive``, the callback
path), REST pages as the envelope the REST client builds, through the reconciler's and the
private capture's page handlers. Then the stored rows, the quarantine and the status
counters are compared with the table, case by case.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemons.bybit import parsing
from daemons.bybit.endpoints import Endpoints
from daemons.bybit.rest import BybitRest, Page
from daemons.bybit.streams import now_ms
from daemons.capture.private import PrivateCapture
from daemons.capture.public import PublicCapture
from daemons.capture.reconciler import Reconciler
from daemons.capture.status import StatusBoard
from daemons.db import accounts, users
from daemons.db import event_rows as rows
from daemons.db.event_writer import EventWriter, WriterConfig
from daemons.db.session import Database
from daemons.db.targets import AccountTarget
from daemons.secrets.envelope import Secret
from tests.daemons.capture.mutations import (
    ALL,
    BIGINT,
    BIGINT_DIGITS,
    KEEP,
    OTHER,
    QUARANTINE,
    Case,
    Sample,
    base,
    cases,
)
from tests.fixtures.secrets import make_secret_text

SYMBOL = "BTCUSDT"
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
#: table, key column, columns compared between a kept item and the reference's
TABLES = {
    "publicTrade": ("public_trades", "trade_id",
                    "symbol, exchange_ts, side, price, size, is_block_trade"),
    "recentTrade": ("public_trades", "trade_id",
                    "symbol, exchange_ts, side, price, size, is_block_trade"),
    "funding": ("funding_rates", "symbol", "exchange_ts, funding_rate"),
    "tickers": ("tickers", "symbol",
                "exchange_ts, cross_seq, last_price, mark_price, index_price, bid1_price,"
                " bid1_size, ask1_price, ask1_size, funding_rate, next_funding_ts,"
                " open_interest, volume_24h, turnover_24h"),
    "order": ("orders", "order_id",
              "symbol, order_link_id, side, order_type, price, qty, order_status,"
              " time_in_force, reduce_only, position_idx, cum_exec_qty, cum_exec_value,"
              " cum_exec_fee, leaves_qty, created_ts, exchange_ts, raw_json"),
    "execution": ("private_executions", "exec_id",
                  "symbol, order_id, order_link_id, exchange_ts, side, exec_price, exec_qty,"
                  " exec_fee, fee_rate, exec_type, is_maker, closed_pnl, raw_json"),
    "position": ("positions", "symbol",
                 "position_idx, seq, side, size, avg_price, mark_price, liq_price,"
                 " position_value, leverage, unrealised_pnl, cum_realised_pnl,"
                 " position_status, exchange_ts, raw_json"),
    "wallet": ("wallets", "coin",
               "account_type, wallet_balance, equity, available_balance, unrealised_pnl,"
               " cum_realised_pnl, total_initial_margin, total_maintenance_margin,"
               " exchange_ts, raw_json"),
}
#: Tables with a time column that must never be before 2015, and that column.
TIMES = {"public_trades": "exchange_ts", "tickers": "next_funding_ts",
         "funding_rates": "exchange_ts", "orders": "created_ts",
         "private_executions": "exchange_ts", "positions": "exchange_ts",
         "wallets": "exchange_ts"}


class Harness:
    """The capture's parts around a real writer and database, streams never connected."""

    def __init__(self, db: Database, spill: Path) -> None:
        self.db = db
        with db.admin() as conn:
            user = users.add_user(conn, "mutant", "mutant@example.com")
        with db.unit_of_work(user.user_id) as conn:
            account = accounts.add_account(conn, user.user_id, "main", "local")
        self.target = AccountTarget(account.account_id, user.user_id, "main", uuid.uuid4(),
                                    "key-mutant", Secret(make_secret_text()))
        endpoints = Endpoints("local", "http://127.0.0.1:9", "ws://127.0.0.1:9")
        self.writer = EventWriter(db, spill, WriterConfig(flush_interval_s=0.02),
                                  name="capture").start()
        self.board = StatusBoard()
        self.reconciler = Reconciler(self.writer, self.board, BybitRest(endpoints), (SYMBOL,))
        self.public = PublicCapture(endpoints, (SYMBOL,), self.writer, self.board,
                                    self.reconciler)
        self.private = PrivateCapture(self.target, endpoints, self.writer, self.board,
                                      self.reconciler)
        self.refused: dict[str, str] = {}  # REST pages whose envelope failed: the field

    def feed(self, case: Case, now: int) -> None:
        route = case.sample.route
        if route == "ws_public":
            self.public.stream._receive(case.text())
        elif route == "ws_private":
            self.private.stream._receive(case.text())
        elif route == "ws_ticker":
            self._ticker(case)
        else:
            self._rest(case, now)

    def _ticker(self, case: Case) -> None:
        """A good snapshot, the case's message, then a good delta of lastPrice only."""
        symbol = f"{case.case_id}-m"
        topic = f"tickers.{symbol}"
        self.public.add_symbols((symbol,))
        ts = case.sample.message()["ts"]
        reference = base(case.sample, case.case_id)
        case.message["topic"] = topic
        for message in ({**reference, "topic": topic, "cs": 1, "ts": ts - 1000}, None,
                        {"topic": topic, "type": "delta", "cs": 3, "ts": ts + 1000,
                         "data": {"symbol": symbol, "lastPrice": "12345.6"}}):
            self.public.stream._receive(case.text() if message is None else json.dumps(message))

    def _rest(self, case: Case, now: int) -> None:
        try:
            envelope = parsing.envelope(case.message, now)
        except parsing.ParseError as e:
            self.refused[case.case_id] = e.field
            return
        page = Page(envelope.rows, envelope.cursor, envelope.time_ms, envelope.category)
        topic = case.sample.topic
        if topic == "recentTrade":
            self.reconciler.store_trades(SYMBOL, page, now)
        elif topic == "funding":
            self.reconciler.store_funding(SYMBOL, page, now)
        else:
            self.writer.put(self.target.user_id, rows.PRIVATE_TABLES[topic],
                            self.private.page_rows(topic, page, now))

    def scope(self, sample: Sample) -> Any:
        if sample.private:
            return self.db.unit_of_work(self.target.user_id)
        return self.db.market_data()

    def stored(self, sample: Sample) -> dict[str, list[tuple]]:
        table, key, columns = TABLES[sample.topic]
        with self.scope(sample) as conn:
            found = conn.execute(f"SELECT {key}, {columns} FROM {table}").fetchall()
        by_key: dict[str, list[tuple]] = {}
        for row in found:
            by_key.setdefault(row[0], []).append(tuple(row[1:]))
        return by_key

    def quarantined(self, sample: Sample) -> list[tuple[str, str, str]]:
        where = "account_id IS NOT NULL" if sample.private else "account_id IS NULL"
        with self.scope(sample) as conn:
            return conn.execute(f"SELECT source, payload, error FROM raw_quarantine WHERE {where}"
                                " ORDER BY id").fetchall()


def _expected_keys(case: Case) -> set[str]:
    """Keys of the rows the case must leave (per table key column)."""
    keys = case.keys()
    if case.whole:
        tags = "amb" if case.outcome == KEEP else ""
    else:
        tags = "amb" if case.outcome == KEEP else "ab"
    if case.sample.topic == "wallet":
        coins = [case.sample.m(case.message).get("coin")] if "m" in tags else []
        m_keys = {c["coin"] for c in coins[0]} if coins and isinstance(coins[0], list) else set()
        return {keys[t] for t in tags if t != "m"} | m_keys
    return {keys[t] for t in tags}


def _source(case: Case, frame: bool) -> str:
    sample = case.sample
    if sample.route in ("ws_public", "ws_ticker"):
        return "ws.public"
    if sample.route == "ws_private":
        return "ws.private" if frame or case.whole else f"ws.{sample.topic}"
    return {"recentTrade": "rest.recent-trade", "funding": "rest.funding"}.get(
        sample.topic, f"rest.{sample.topic}")


def _canonical(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text.replace(f'"{BIGINT}"', f'"{BIGINT_DIGITS}"')


def _expected_quarantine(case: Case) -> tuple[str, str, str] | None:
    """(source, error field, payload) of the one row the case must quarantine, if any."""
    if case.outcome != QUARANTINE or (case.whole and not case.sample.ws):
        return None
    frame = case.error == "json"
    if frame:
        return _source(case, True), "json", case.text()
    whole = case.whole or case.sample.route == "ws_ticker"
    payload = case.message if whole else case.sample.m(case.message)
    return _source(case, False), case.error or "", _canonical(payload)


@pytest.mark.parametrize("sample", ALL, ids=lambda s: s.name)
def test_capture_mutated_official_sample_loses_exactly_the_bad_element(
        sample: Sample, db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="daemons.capture")  # a warning per bad item
    now = now_ms()
    table = list(cases(sample, now))
    harness = Harness(db, tmp_path / "spill")
    try:
        for case in table:
            harness.feed(case, now)
        assert harness.writer.wait_idle(30)
        stored = harness.stored(sample)
        quarantined = harness.quarantined(sample)
    finally:
        harness.writer.close()

    # 1. exactly the expected rows of every case, and the good ones exactly as the reference
    if sample.route == "ws_ticker":
        _check_tickers(table, stored)
    else:
        _check_rows(table, stored, sample)

    # 2. exactly one quarantine row per bad element, naming its field, with its payload
    expected = [(c.case_id, q) for c in table if (q := _expected_quarantine(c)) is not None]
    assert len(quarantined) == len(expected), [c for c, _ in expected]
    for (case_id, (source, field, payload)), (got_source, got_payload, error) in zip(
            expected, quarantined, strict=True):
        assert (got_source, error.split(":")[0]) == (source, field), (case_id, error)
        if field == "json":
            assert got_payload == payload, case_id
        else:
            assert _canonical(json.loads(got_payload)) == payload, case_id

    # 3. REST envelopes refused whole: the request fails, naming the field
    refused = {c.case_id: c.error for c in table if c.whole and not sample.ws
               and c.outcome == QUARANTINE}
    assert harness.refused == refused

    # 4. the status counts every quarantined item and every other market's item
    counted = [c for c in table if c.outcome == QUARANTINE and c.error != "json"
               and not (c.whole and not sample.ws)]
    others = sum(3 if c.whole else 1 for c in table if c.outcome == OTHER)
    streams = harness.board.streams.values()
    assert sum(s.quarantined for s in streams) == len(counted)
    assert sum(s.other_category for s in streams) == others

    # 5. no row before 2015 (a time of 0 never becomes 1970)
    _check_no_row_before_2015(harness, sample)


def _check_rows(table: list[Case], stored: dict[str, list[tuple]], sample: Sample) -> None:
    expected_keys = {key for case in table for key in _expected_keys(case)}
    assert set(stored) == expected_keys
    reference = table[0]
    ref = {tag: stored[key][0][:-1] if sample.private else stored[key][0]
           for tag, key in reference.keys().items()}
    for case in table:
        if case.whole:
            continue
        keys = case.keys()
        items = dict(zip("amb", sample.items(case.message), strict=True))
        for tag in "ab":
            (row,) = stored[keys[tag]]
            if sample.private:  # raw_json: the item exactly as Bybit sent it
                row, raw = row[:-1], row[-1]
                assert raw == items[tag], case.case_id
            assert row == ref[tag], (case.case_id, case.mutation)
        _check_flat_position(case, stored)


def _check_flat_position(case: Case, stored: dict[str, list[tuple]]) -> None:
    """A position whose updatedTime is absent or 0 is stored at the message's time."""
    if case.sample.topic != "position" or case.mutated != ("updatedTime",) \
            or case.outcome != KEEP:
        return
    message_ms = case.message["creationTime" if case.sample.ws else "time"]
    (row,) = stored[case.keys()["m"]]
    updated = case.sample.m(case.message).get("updatedTime")
    if updated in (None, "", "0", 0):
        assert rows.ms(row[-2]) == int(message_ms), case.mutation


def _check_tickers(table: list[Case], stored: dict[str, list[tuple]]) -> None:
    """Snapshot, case, delta: the case's row only if kept; the delta never merged a bad value."""
    for case in table:
        symbol = f"{case.case_id}-m"
        found = stored.get(symbol, [])
        kept = case.outcome == KEEP
        assert len(found) == (3 if kept else 2), (case.case_id, case.mutation, found)
        by_seq = sorted(found, key=lambda r: r[0])  # exchange_ts: snapshot, case, delta
        snapshot, delta = by_seq[0], by_seq[-1]
        assert delta[2] == Decimal("12345.6")
        if not kept:  # the delta merged into the snapshot alone
            ignore = (0, 1, 2)  # exchange_ts, cross_seq, last_price
            assert [v for i, v in enumerate(delta) if i not in ignore] == \
                [v for i, v in enumerate(snapshot) if i not in ignore], case.mutation
    assert {s for s in stored} == {f"{c.case_id}-m" for c in table}


def _check_no_row_before_2015(harness: Harness, sample: Sample) -> None:
    with harness.scope(sample) as conn:
        for table, column in TIMES.items():
            for name in ("exchange_ts", column):
                oldest = conn.execute(f"SELECT min({name}) FROM {table}").fetchone()[0]
                assert oldest is None or oldest >= EARLIEST, (table, name, oldest)


def test_mutation_table_size_is_the_one_docs_capture_md_states() -> None:
    """Every sample has its cases, and the total is the number docs/capture.md gives."""
    now = now_ms()
    counts = {s.name: sum(1 for _ in cases(s, now)) for s in ALL}
    assert all(n > 100 for n in counts.values()), counts
    assert sum(counts.values()) == 4135
