"""The bundled-month replay: real price path, fast path equal to the full recomputation."""

from __future__ import annotations

from decimal import Decimal

from daemons.backtest.bundled import SYMBOL, run_bundled_replay
from daemons.backtest.price_path import bar_path, bars_to_tickers
from daemons.marketdata.bars import Bar, load_bars
from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.fills import OptimisticFill
from gridcore.sim.replay import replay


def test_bar_path_rising_bar_visits_low_before_high() -> None:
    bar = Bar(ts_ms=0, open=10.0, high=12.0, low=9.0, close=11.0, volume=1.0)
    assert bar_path(bar) == (10.0, 9.0, 12.0, 11.0)


def test_bar_path_falling_bar_visits_high_before_low() -> None:
    bar = Bar(ts_ms=0, open=11.0, high=12.0, low=9.0, close=10.0, volume=1.0)
    assert bar_path(bar) == (11.0, 12.0, 9.0, 10.0)


def test_bars_to_tickers_are_in_strict_replay_order() -> None:
    events = list(bars_to_tickers(load_bars()[:500], SYMBOL))
    assert len(events) == 2_000
    keys = [event.order_key() for event in events]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_bundled_replay_fast_path_equals_full_recomputation_on_real_bars() -> None:
    fast = run_bundled_replay(max_bars=5_000)
    engine = GridEngine(fast.engine.config, "0.1", "0.001", "demo", symbol=SYMBOL,
                        fast_path=False)
    broker = SimBroker(SYMBOL, OptimisticFill(), starting_balance=Decimal(10_000))
    slow = replay(bars_to_tickers(load_bars()[:5_000], SYMBOL), engine, broker)
    assert fast.broker.fills == broker.fills
    assert fast.engine.save_state() == engine.save_state()
    assert fast.summary() == slow.summary(engine, broker)
    assert len(broker.fills) > 100


def test_bundled_replay_twice_gives_identical_summaries() -> None:
    first, second = run_bundled_replay(max_bars=2_000), run_bundled_replay(max_bars=2_000)
    assert first.summary() == second.summary()
