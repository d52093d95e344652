"""Scenario: a synthetic trading day through the engine and an OPTIMISTIC broker.

The day has a quiet morning, a rally, a sharp sell-off and a recovery, one ticker every
5 s. At checkpoints the orders resting at the broker must be exactly what the rules say
the grid should hold.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from gridcore.config import GridConfig
from gridcore.events import BUY, SELL, TickerEvent
from gridcore.grid import WAIT
from gridcore.intents import PlaceLimitIntent
from gridcore.quiet import is_eligible
from tests.gridcore.driver import SYMBOL, drive, new_engine

DAY_MS = 86_400_000
STEP_MS = 5_000


def synthetic_day(start: float = 40_000.0) -> list[TickerEvent]:
    events = []
    for i in range(DAY_MS // STEP_MS):
        t = i / (DAY_MS // STEP_MS)
        trend = 0.0
        if 0.30 <= t < 0.50:
            trend = 0.06 * (t - 0.30) / 0.20            # rally +6 %
        elif 0.50 <= t < 0.55:
            trend = 0.06 - 0.16 * (t - 0.50) / 0.05     # sell-off to -10 %
        elif t >= 0.55:
            trend = -0.10 + 0.07 * (t - 0.55) / 0.45    # recovery to -3 %
        wiggle = 0.004 * math.sin(i / 37) + 0.002 * math.sin(i / 5.3)
        price = round(start * (1 + trend + wiggle), 1)
        ts = 1_700_000_000_000 + i * STEP_MS
        events.append(TickerEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, seq=i,
                                  last_price=Decimal(repr(price))))
    return events


CONFIG = GridConfig(amount="0.002", grid_count=20, grid_step_pct=0.5)


@pytest.fixture(scope="module")
def day():
    events = synthetic_day()
    log, engine, broker = drive(new_engine(CONFIG), events)
    return events, log, engine, broker


def test_day_trades_both_ways_and_follows_the_sell_off(day) -> None:
    events, _, engine, broker = day
    buys = [f for f in broker.fills if f.side == BUY]
    sells = [f for f in broker.fills if f.side == SELL]
    assert len(buys) > 10 and len(sells) > 10
    prices = [float(f.price) for f in broker.fills]
    assert min(prices) < 37_000 < 41_000 < max(prices), "fills span the day's range"
    assert not engine.latch.is_set


def test_day_resting_orders_are_grid_levels_on_the_right_side(day) -> None:
    events, _, engine, broker = day
    close = float(events[-1].last_price)
    level_prices = {level.price for level in engine.grid.levels}
    for order in broker.orders.values():
        assert order.price_f in level_prices
        if not order.reduce_only:
            assert (order.price_f < close) if order.side == BUY else (order.price_f > close)


def test_day_holds_exactly_the_orders_the_rules_ask_for(day) -> None:
    """Every eligible opening level has one order; closing orders fit in the position."""
    events, _, engine, broker = day
    close = float(events[-1].last_price)
    half = CONFIG.grid_step_pct / 2
    resting = {(o.price_f, o.side, o.reduce_only) for o in broker.orders.values()}
    assert len(resting) == len(broker.orders), "no two identical orders"
    for level in engine.grid.levels:
        if level.side == WAIT or not is_eligible(level.side, level.price, close, half):
            continue
        opening = (level.price, level.side, False)
        assert opening in resting, f"missing {opening}"
    for idx in (1, 2):
        closing = sum(o.qty for o in broker.orders.values()
                      if o.reduce_only and o.position_idx == idx)
        assert closing < broker.positions[idx].size or closing == 0


def test_day_orders_never_exceed_the_grid(day) -> None:
    _, log, engine, broker = day
    assert len(broker.orders) <= 2 * len(engine.grid.levels)
    placed = [i for intents in log for i in intents if isinstance(i, PlaceLimitIntent)]
    assert len({i.client_order_id for i in placed}) == len(placed), "client ids are unique"
