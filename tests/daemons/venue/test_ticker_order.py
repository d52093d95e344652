"""A ticker goes out after every trade stamped at or before it, even when the tape's loop
runs late (``VenueState.push_ticker_deltas``): clients that step events as they arrive
then see the market a replay in exchange order sees."""

from __future__ import annotations

import json

from daemons.marketdata.trade import Trade
from daemons.venue.config import VenueConfig
from daemons.venue.state import VenueState
from daemons.venue.tape import MAX_BATCH
from daemons.venue.testing import make_accounts

T0 = 1_700_000_000_000


class Collector:
    """A public connection as the hub sees it: its topics and what it was sent, in order."""

    account = None

    def __init__(self, *topics: str) -> None:
        self.topics = set(topics)
        self.sent: list[dict] = []

    def send(self, message: str | dict) -> None:
        self.sent.append(json.loads(message) if isinstance(message, str) else message)


def test_a_late_tape_loop_plays_the_due_trades_before_the_ticker_that_reflects_them() -> None:
    trades = [Trade(T0 + 100 * i, f"t{i}", "Buy", 37_000.5 + i, 0.1) for i in range(10)]
    state = VenueState(VenueConfig(accounts=make_accounts(1)), tapes={"BTCUSDT": iter(trades)})
    wall0 = state.clock.venue_ms(T0)  # when the tape's first trade is due
    state.clock.now = lambda: wall0 + 450  # the tape's loop has not run: five trades are due
    conn = Collector("publicTrade.BTCUSDT", "tickers.BTCUSDT")
    state.public.connections.add(conn)

    state.push_ticker_deltas()

    assert [m["topic"] for m in conn.sent] == ["publicTrade.BTCUSDT", "tickers.BTCUSDT"]
    played, ticker = conn.sent
    assert [d["p"] for d in played["data"]] == ["37000.50", "37001.50", "37002.50",
                                                 "37003.50", "37004.50"]
    assert all(d["T"] <= ticker["ts"] == wall0 + 450 for d in played["data"])
    assert ticker["data"]["lastPrice"] == "37004.50"  # and it reflects them

    state.clock.now = lambda: wall0 + 560  # one more is due by the next ticker
    state.push_ticker_deltas()
    assert [m["topic"] for m in conn.sent[2:]] == ["publicTrade.BTCUSDT", "tickers.BTCUSDT"]
    assert [d["p"] for d in conn.sent[2]["data"]] == ["37005.50"]


def test_a_ticker_waits_for_more_due_trades_than_one_step_plays() -> None:
    due = MAX_BATCH + 500
    trades = [Trade(T0 + i, f"t{i}", "Buy" if i % 2 else "Sell", 37_000.5, 0.001)
              for i in range(due + 10)]
    state = VenueState(VenueConfig(accounts=make_accounts(1)), tapes={"BTCUSDT": iter(trades)})
    wall0 = state.clock.venue_ms(T0)
    state.clock.now = lambda: wall0 + due - 1  # trades t0 .. t(due-1) are due
    conn = Collector("publicTrade.BTCUSDT", "tickers.BTCUSDT")
    state.public.connections.add(conn)

    state.push_ticker_deltas()

    *played, ticker = conn.sent
    assert ticker["topic"] == "tickers.BTCUSDT"
    assert {m["topic"] for m in played} == {"publicTrade.BTCUSDT"}
    assert sum(len(m["data"]) for m in played) == due
