"""The bundled-month replay: real price path, vectorised replay equal to the reference."""

from __future__ import annotations

from decimal import Decimal

from daemons.backtest.bundled import DEMO_CONFIG, SYMBOL, run_bundled_replay
from daemons.backtest.price_path import bar_path
from daemons.backtest.sources import tape_from_bars
from daemons.marketdata.bars import Bar, load_bars
from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.fills import OptimisticFill
from gridcore.sim.replay import replay
from gridcore.sim.tape import TICKER, TRADE


def test_bar_path_rising_bar_visits_low_before_high() -> None:
    bar = Bar(ts_ms=0, open=10.0, high=12.0, low=9.0, close=11.0, volume=1.0)
    assert bar_path(bar) == (10.0, 9.0, 12.0, 11.0)


def test_bar_path_falling_bar_visits_high_before_low() -> None:
    bar = Bar(ts_ms=0, open=11.0, high=12.0, low=9.0, close=10.0, volume=1.0)
    assert bar_path(bar) == (11.0, 12.0, 9.0, 10.0)


def test_tape_from_bars_is_in_strict_replay_order_with_a_trade_before_each_ticker() -> None:
    tape = tape_from_bars(SYMBOL, load_bars()[:500])
    assert len(tape) == 4_000
    keys = [tape.event(i).order_key() for i in range(len(tape))]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert list(tape.kind[:2]) == [TRADE, TICKER] and tape.price[0] == tape.price[1]


def test_bundled_replay_vectorised_equals_per_event_reference_on_real_bars() -> None:
    fast = run_bundled_replay(max_bars=5_000)
    engine = GridEngine(DEMO_CONFIG, "0.1", "0.001", "demo", symbol=SYMBOL, fast_path=False)
    broker = SimBroker(SYMBOL, OptimisticFill(), starting_balance=Decimal(10_000))
    slow = replay(tape_from_bars(SYMBOL, load_bars()[:5_000]).events(), engine, broker)
    assert fast.broker.fills == broker.fills
    assert fast.engine.save_state() == engine.save_state()
    assert fast.result.summary(fast.engine, fast.broker) == slow.summary(engine, broker)
    assert len(broker.fills) > 100


def test_bundled_replay_twice_gives_identical_digests() -> None:
    first, second = run_bundled_replay(max_bars=2_000), run_bundled_replay(max_bars=2_000)
    assert first.digest == second.digest
