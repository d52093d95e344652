"""Decision-by-decision parity: GridEngine against the reference stepper on real days.

Both implementations trade the same day of real one-minute bars (four tickers a bar) at
several grid settings, each against its own :class:`MiniExchange`. Every place and cancel,
in order, with its client id, price, quantity and flags, must be the same over the whole
day; the first difference is reported with the ticker it happened at. The settings cover
the legacy defaults, balance-relative amounts, ``long_koef``, the low-margin rule both
ways, and a small wallet whose positions show liquidation prices.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.events import ExecutionEvent, OrderUpdateEvent, PositionEvent, WalletEvent
from gridcore.intents import PlaceLimitIntent
from tests.gridcore.parity_market import SYMBOL, MiniExchange, bar_tickers, day_bars
from tests.gridcore.reference_stepper import ReferenceStepper

TICK, QTY_STEP = 0.1, 0.001

SETTINGS = {
    "legacy-defaults": ({"grid_count": 40, "grid_step_pct": 0.2, "amount": "0.001"}, 10_000),
    "btc-live": ({"grid_count": 20, "grid_step_pct": 0.5, "amount": "x0.002", "long_koef": 1.3,
                  "min_total_margin": 1.0, "increase_same_position_on_low_margin": True}, 3_000),
    "small-wallet": ({"grid_count": 30, "grid_step_pct": 0.3, "amount": "0.01",
                      "min_total_margin": 2.0}, 800),
    "wide": ({"grid_count": 16, "grid_step_pct": 0.75, "amount": "x0.003", "long_koef": 1.5},
             5_000),
}
DAYS = ["2022-01-05", "2022-01-15", "2022-01-21", "2022-01-24"]


def _run(decide, feed_account, tickers, balance: int) -> tuple[list[tuple], MiniExchange]:
    """Drive one implementation through the day; return its decisions and its exchange.

    ``decide(ticker) -> list[tuple]`` runs a step; ``feed_account(executions, others)``
    tells the implementation about its account (executions as one message).
    """
    exchange = MiniExchange(Decimal(balance))
    decisions: list[tuple] = []
    for n, ticker in enumerate(tickers):
        ts = ticker.exchange_ts
        if n == 0:
            feed_account([], exchange.start(ts))
        feed_account(*exchange.trade_to(ticker.last_price, ts))
        answers: list[object] = []
        for decision in decide(ticker):
            decisions.append((n, *decision))
            if decision[0] == "place":
                _, link, direction, side, price, qty, reduce_only = decision
                answers += exchange.place(link, side, Decimal(repr(price)), Decimal(repr(qty)),
                                          reduce_only, 1 if direction == "long" else 2, ts)
            else:
                answers += exchange.cancel(decision[1], ts)
        feed_account([], answers)
    return decisions, exchange


def run_engine(config: dict, tickers, balance: int) -> tuple[list[tuple], MiniExchange]:
    engine = GridEngine(GridConfig(**config), repr(TICK), repr(QTY_STEP), "p1", symbol=SYMBOL)

    def decide(ticker) -> list[tuple]:
        out = []
        for intent in engine.on_event(ticker):
            if isinstance(intent, PlaceLimitIntent):
                out.append(("place", intent.client_order_id, intent.direction, intent.side,
                            float(intent.price), float(intent.qty), intent.reduce_only))
            else:
                out.append(("cancel", intent.order_id or intent.client_order_id))
        return out

    def feed(executions, others) -> None:
        for event in [*executions, *others]:
            engine.on_event(event)

    return _run(decide, feed, tickers, balance)


def run_reference(config: dict, tickers, balance: int) -> tuple[list[tuple], MiniExchange]:
    stepper = ReferenceStepper(config, TICK, QTY_STEP, "p1", SYMBOL)
    handlers = {OrderUpdateEvent: stepper.on_order, PositionEvent: stepper.on_position,
                WalletEvent: stepper.on_wallet}

    def decide(ticker) -> list[tuple]:
        return stepper.step(float(ticker.last_price), ticker.exchange_ts)

    def feed(executions: list[ExecutionEvent], others) -> None:
        stepper.on_execution_message(executions)
        for event in others:
            handlers[type(event)](event)

    return _run(decide, feed, tickers, balance)


def first_difference(ours: list[tuple], theirs: list[tuple]) -> str:
    for n, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"decision {n}: engine {a} vs reference {b}"
    return f"lengths differ: engine {len(ours)}, reference {len(theirs)}"


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_engine_decides_exactly_as_reference_stepper_over_a_real_day(setting: str,
                                                                     day: str) -> None:
    config, balance = SETTINGS[setting]
    tickers = list(bar_tickers(day_bars(day)))
    assert len(tickers) == 4 * 1440
    ours, our_exchange = run_engine(config, tickers, balance)
    theirs, _ = run_reference(config, tickers, balance)
    assert ours == theirs, first_difference(ours, theirs)
    kinds = Counter(d[1] for d in ours)
    assert kinds["place"] > 10, kinds
    assert our_exchange.fills > 3
    print(f"PARITY {setting} {day}: {len(ours)} decisions "
          f"({kinds['place']} places, {kinds['cancel']} cancels), {our_exchange.fills} fills")


def test_parity_check_finds_a_difference() -> None:
    """The comparison can fail: a reference with another step size decides differently."""
    config, balance = SETTINGS["legacy-defaults"]
    tickers = list(bar_tickers(day_bars(DAYS[0])))[:2_000]
    ours, _ = run_engine(config, tickers, balance)
    theirs, _ = run_reference({**config, "grid_step_pct": 0.21}, tickers, balance)
    assert ours != theirs
