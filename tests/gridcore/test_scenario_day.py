"""Scenario: a synthetic trading day through the engine and an OPTIMISTIC broker.

The day has a quiet morning, a rally, a sharp sell-off and a recovery, one ticker every
5 s. At checkpoints in every phase (``CHECKPOINTS``) and at the end of the day, the orders
resting at the broker must be exactly what the rules say the grid should hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import pytest

import tests.gridcore.driver as driver
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.events import BUY, SELL, TickerEvent
from gridcore.grid import WAIT
from gridcore.intents import Intent, PlaceLimitIntent
from gridcore.quiet import is_eligible
from tests.gridcore.driver import SYMBOL, drive

DAY_MS = 86_400_000
STEP_MS = 5_000
N_EVENTS = DAY_MS // STEP_MS


def synthetic_day(start: float = 40_000.0) -> list[TickerEvent]:
    events = []
    for i in range(N_EVENTS):
        t = i / N_EVENTS
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

#: Checkpoint name -> (fraction of the day, (low, high) bounds the close must lie in, which
#: proves the checkpoint sits in the phase it is named after). The state is taken after
#: every event before that fraction has been handled.
CHECKPOINTS = {
    "quiet morning": (0.29, (39_700, 40_300)),
    "early rally": (0.36, (40_300, 41_300)),
    "mid rally": (0.43, (41_200, 42_200)),
    "rally top": (0.499, (42_000, 42_700)),
    "mid sell-off": (0.52, (38_700, 40_700)),
    "sell-off bottom": (0.549, (35_700, 36_300)),
    "early recovery": (0.62, (36_300, 37_300)),
    "late recovery": (0.85, (37_900, 38_700)),
    "end of day": (1.0, (38_600, 39_200)),
}


@dataclass(frozen=True)
class Snapshot:
    """What the rules are checked against, copied at one moment of the day."""

    close: float
    levels: tuple[tuple[float, str], ...]
    orders: tuple[tuple[float, str, bool, Decimal, int], ...]  # price, side, reduce-only, qty, idx
    latch_set: bool


def _snapshot(close: Decimal, engine, broker) -> Snapshot:
    return Snapshot(
        close=float(close),
        levels=tuple((level.price, level.side) for level in engine.grid.levels),
        orders=tuple((o.price_f, o.side, o.reduce_only, o.qty, o.position_idx)
                     for o in broker.orders.values()),
        latch_set=engine.latch.is_set,
    )


class GuardedEngine(GridEngine):
    """The engine, recording after every closing placement what rule 3.5 compared.

    Each record is (checked position size, closing quantity held in that direction with
    the new order) for one direction; the rule asks for size > quantity.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.guards: list[tuple[float, float]] = []

    def on_event(self, event: object) -> list[Intent]:
        intents = super().on_event(event)
        for direction in {i.direction for i in intents
                          if isinstance(i, PlaceLimitIntent) and i.reduce_only}:
            held = sum(o.qty for o in self.orders.direction_orders(direction) if o.reduce_only)
            self.guards.append((self.check.position(direction).size, held))
        return intents


@pytest.fixture(scope="module")
def day():
    """The whole day, with a snapshot at every checkpoint (taken between two events)."""
    events = synthetic_day()
    engine = GuardedEngine(CONFIG, "0.1", "0.001", "s1", symbol=SYMBOL)
    brokers = []
    snapshots: dict[str, Snapshot] = {}
    at_index = {round(t * N_EVENTS): name for name, (t, _) in CHECKPOINTS.items()}

    class RecordingBroker(driver.SimBroker):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            brokers.append(self)

    def stream():
        for index, event in enumerate(events):
            if index in at_index:  # every earlier event has been handled and answered
                snapshots[at_index[index]] = _snapshot(events[index - 1].last_price, engine,
                                                       brokers[0])
            yield event

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(driver, "SimBroker", RecordingBroker)
        log, final_engine, broker = drive(engine, stream())
    assert final_engine is engine and brokers == [broker]
    snapshots["end of day"] = _snapshot(events[-1].last_price, engine, broker)
    return events, log, engine, broker, snapshots


def test_day_trades_both_ways_and_follows_the_sell_off(day) -> None:
    events, _, engine, broker, _ = day
    buys = [f for f in broker.fills if f.side == BUY]
    sells = [f for f in broker.fills if f.side == SELL]
    assert len(buys) > 10 and len(sells) > 10
    prices = [float(f.price) for f in broker.fills]
    assert min(prices) < 37_000 < 41_000 < max(prices), "fills span the day's range"
    assert not engine.latch.is_set


def test_day_checkpoints_lie_in_their_phases(day) -> None:
    snapshots = day[-1]
    assert snapshots.keys() == CHECKPOINTS.keys()
    for name, (_, (low, high)) in CHECKPOINTS.items():
        assert low < snapshots[name].close < high, name


def resting_order_problems(snap: Snapshot) -> list[str]:
    """Where the resting orders differ from what the rules ask for (empty when they agree).

    - every resting order sits on a grid level, an opening one on the right side of the
      close (rule 3.5: a BUY below, a SELL above);
    - no two identical orders (rule 3.5, D3);
    - every eligible opening level holds an order (rule 3.4.4).

    The closing-order guard (rule 3.5) reads the position of the last position check, not
    the position now, so it is checked where the engine decides
    (``test_day_closing_orders_stay_below_the_checked_position``).
    """
    problems = []
    half = CONFIG.grid_step_pct / 2
    level_prices = {price for price, _ in snap.levels}
    for price, side, reduce_only, _, _ in snap.orders:
        if price not in level_prices:
            problems.append(f"{side} {price} is not a grid level")
        if not reduce_only and not (price < snap.close if side == BUY else price > snap.close):
            problems.append(f"opening {side} {price} is on the wrong side of {snap.close}")
    resting = {(price, side, reduce_only) for price, side, reduce_only, _, _ in snap.orders}
    if len(resting) != len(snap.orders):
        problems.append("two identical orders")
    for price, side in snap.levels:
        if side != WAIT and is_eligible(side, price, snap.close, half):
            if (price, side, False) not in resting:
                problems.append(f"missing opening {side} at {price}")
    if snap.latch_set:
        problems.append("the same-order latch is set")
    return problems


@pytest.mark.parametrize("checkpoint", list(CHECKPOINTS))
def test_day_holds_exactly_the_orders_the_rules_ask_for(day, checkpoint: str) -> None:
    """At every checkpoint, the resting orders are the grid's (see resting_order_problems)."""
    snap = day[-1][checkpoint]
    assert snap.orders, "the grid holds orders"
    assert resting_order_problems(snap) == []


def test_rule_check_finds_broken_order_sets(day) -> None:
    """The checkpoint check itself must be able to fail."""
    snap = day[-1]["mid rally"]
    first = snap.orders[0]
    half = CONFIG.grid_step_pct / 2
    opening = next(o for o in snap.orders
                   if not o[2] and is_eligible(o[1], o[0], snap.close, half))
    off_grid = (first[0] + 0.05, *first[1:])
    wrong_side = (opening[0], SELL if opening[1] == BUY else BUY, False, opening[3], opening[4])
    cases = {
        "not a grid level": snap.orders + (off_grid,),
        "wrong side": snap.orders + (wrong_side,),
        "two identical": snap.orders + (first,),
        "missing opening": tuple(o for o in snap.orders if o != opening),
    }
    for problem, orders in cases.items():
        broken = Snapshot(snap.close, snap.levels, orders, snap.latch_set)
        assert any(problem in p for p in resting_order_problems(broken)), problem


def test_day_closing_orders_stay_below_the_checked_position(day) -> None:
    """Rule 3.5: after each closing placement, the direction's closing orders (the new one
    included) stay below the position the last position check read."""
    engine = day[2]
    assert len(engine.guards) > 20, "the day places closing orders"
    assert all(size > held for size, held in engine.guards), engine.guards


def test_day_orders_never_exceed_the_grid(day) -> None:
    _, log, engine, broker, _ = day
    assert len(broker.orders) <= 2 * len(engine.grid.levels)
    placed = [i for intents in log for i in intents if isinstance(i, PlaceLimitIntent)]
    assert len({i.client_order_id for i in placed}) == len(placed), "client ids are unique"
