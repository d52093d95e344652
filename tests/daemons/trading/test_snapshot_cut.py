"""Where a live strategy's snapshots are cut: a replay seeded from one must hold every order.

The case the demo met: a burst of placements waits for the account's order budget, so the
later acknowledgements, and then fills, are stamped well after the last market event the
engine has seen, and can all arrive before the next one. A snapshot taken at that next
market event would be stamped with the old market time but already lack the filled orders;
the replay starts at the stamp, never holds them, and misses their fills.
"""

from __future__ import annotations

from uuid import UUID

from daemons.backtest.live_seed import load_live_seed
from daemons.db.session import Database
from daemons.trading.runtime import StrategyRuntime
from gridcore.events import Event, ExecutionEvent, OrderUpdateEvent
from gridcore.intents import PlaceLimitIntent
from tests.daemons.trading.runtime_kit import (
    SYMBOL,
    T0,
    ScriptedExchange,
    make_runtime,
)
from tests.daemons.trading.runtime_kit import ticker as _ticker


def _runtime(db: Database) -> tuple[StrategyRuntime, ScriptedExchange, UUID]:
    exchange = ScriptedExchange()
    runtime, user = make_runtime(db, exchange)
    return runtime, exchange, user


def _new(intent: PlaceLimitIntent, ts: int) -> OrderUpdateEvent:
    return OrderUpdateEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts, order_id=f"x-{intent.client_order_id}",
        order_link_id=intent.client_order_id, side=intent.side, price=intent.price,
        qty=intent.qty, order_status="New", position_idx=intent.position_idx,
        leaves_qty=intent.qty)


def _filled(intent: PlaceLimitIntent, ts: int) -> list[Event]:
    return [ExecutionEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts, exec_id=f"e-{intent.client_order_id}",
        order_id=f"x-{intent.client_order_id}", order_link_id=intent.client_order_id,
        side=intent.side, exec_price=intent.price, exec_qty=intent.qty),
        OrderUpdateEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts, order_id=f"x-{intent.client_order_id}",
        order_link_id=intent.client_order_id, side=intent.side, price=intent.price,
        qty=intent.qty, order_status="Filled", position_idx=intent.position_idx,
        cum_exec_qty=intent.qty)]


def _seeded_links(db: Database, user: UUID, run_id: UUID, at_ms: int) -> tuple[int, set[str]]:
    """The seed's stamp, and every order it holds: resting, or placed through its requests
    in flight."""
    with db.unit_of_work(user) as conn:
        seed = load_live_seed(conn, run_id, at_ms)
    return seed.snapshot_ts, {o.order_link_id for o in seed.orders} | {
        i.client_order_id for _, i in seed.in_flight if isinstance(i, PlaceLimitIntent)}


def test_a_snapshot_wanted_while_late_acks_and_fills_arrive_is_cut_before_them(db) -> None:
    runtime, exchange, user = _runtime(db)
    runtime.on_market(_ticker(T0), 1, 0, step=True)
    grid = list(exchange.placed)
    assert len(grid) == 20
    for n, intent in enumerate(grid[:10]):  # the budget's first second: acked at once
        runtime.on_private(_new(intent, T0 + 15 + n), 0)
    runtime.on_market(_ticker(T0 + 336), 1, 0, step=True)  # the market moves on, quietly
    runtime.want_snapshot()  # the worker's timer
    for n, intent in enumerate(grid[10:]):  # the rest waited a second for the budget
        runtime.on_private(_new(intent, T0 + 1061 + n), 0)
    for intent in grid[10:13]:  # a trade fills three of them: its private messages first
        for event in _filled(intent, T0 + 7607):
            runtime.on_private(event, 0)
    runtime.on_market(_ticker(T0 + 7607), 1, 0, step=True)  # the trade's own ticker
    assert not runtime.snapshot_wanted

    stamp, seeded = _seeded_links(db, user, runtime.run_id, T0 + 7607)
    assert stamp == T0 + 336, "cut at the last market event before the late messages"
    assert seeded == {i.client_order_id for i in grid}, "the replay holds every order"


def test_a_snapshot_wanted_after_a_later_stamped_fill_waits_for_the_market_to_catch_up(
        db) -> None:
    """Nothing later than the stamp may be in the state: after a fill stamped ahead of the
    market, the next exact cut is once a market event of the fill's time has been seen."""
    runtime, exchange, user = _runtime(db)
    runtime.on_market(_ticker(T0), 1, 0, step=True)
    grid = list(exchange.placed)
    for n, intent in enumerate(grid):
        runtime.on_private(_new(intent, T0 + 15 + n), 0)
    for event in _filled(grid[10], T0 + 5000):
        runtime.on_private(event, 0)
    runtime.want_snapshot()
    runtime.on_private(_new(grid[0], T0 + 5001), 0)  # stamped later still
    for ts in (T0 + 5000, T0 + 5001):
        runtime.on_market(_ticker(ts), 1, 0, step=False)
        assert runtime.snapshot_wanted, "not cut while the state holds a later message"
    runtime.on_market(_ticker(T0 + 5002), 1, 0, step=False)
    assert not runtime.snapshot_wanted

    stamp, seeded = _seeded_links(db, user, runtime.run_id, T0 + 6000)
    assert stamp == T0 + 5001
    assert grid[10].client_order_id not in seeded and len(seeded) == 19


def test_a_state_ahead_of_its_market_for_a_whole_timer_round_is_cut_anyway(db, caplog) -> None:
    """A private message stamped far ahead (another clock, a bad stamp) must not leave the
    strategy without snapshots (recovery restores from them): after a second timer round
    the next millisecond is cut, with a warning."""
    runtime, exchange, user = _runtime(db)
    runtime.on_market(_ticker(T0), 1, 0, step=True)
    runtime.on_private(_new(exchange.placed[0], T0 + 3_600_000), 0)
    runtime.want_snapshot()
    runtime.on_market(_ticker(T0 + 100), 1, 0, step=False)
    runtime.on_market(_ticker(T0 + 200), 1, 0, step=False)
    assert runtime.snapshot_wanted
    runtime.want_snapshot()  # a whole round later
    runtime.on_market(_ticker(T0 + 300), 1, 0, step=False)
    assert not runtime.snapshot_wanted
    assert "snapshot cut inexactly" in caplog.text
    stamp, _ = _seeded_links(db, user, runtime.run_id, T0 + 1000)
    assert stamp == T0 + 200
