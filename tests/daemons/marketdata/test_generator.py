"""The generated tapes: seeded, calibrated on the real trades and true to bars."""

from __future__ import annotations

import numpy as np

from daemons.marketdata.bars import Bar, load_bars
from daemons.marketdata.generator import (
    bundled_calibration,
    generate_arrays,
    generate_trades,
    trades_from_bars,
)


def test_generate_trades_same_seed_same_tape_other_seed_differs() -> None:
    a = list(generate_trades(7, start_ms=1_000, limit=5_000))
    b = list(generate_trades(7, start_ms=1_000, limit=5_000))
    c = list(generate_trades(8, start_ms=1_000, limit=5_000))
    assert a == b
    assert a != c
    assert all(x.ts_ms <= y.ts_ms for x, y in zip(a, a[1:], strict=False))


def test_generate_arrays_statistics_match_the_real_capture() -> None:
    cal = bundled_calibration()
    gen = generate_arrays(200_000, seed=3)
    gaps = np.diff(gen["ts_ms"])
    real_zero = float((cal.gaps_ms == 0).mean())
    assert abs(float((gaps == 0).mean()) - real_zero) < 0.05  # bursts survive
    assert abs(float(gaps.mean()) - float(cal.gaps_ms.mean())) < 3.0
    assert abs(float(np.median(gen["size"])) - float(np.median(cal.sizes))) < 0.005
    assert 0.4 < float(gen["is_buy"].mean()) < 0.6


def test_generate_arrays_a_day_of_trades_is_whole_and_in_order() -> None:
    # How fast: ``backtest_generate_day_s`` in ``make bench``.
    cols = generate_arrays(1_500_000, seed=1)
    assert all(len(column) == 1_500_000 for column in cols.values())
    assert bool((np.diff(cols["ts_ms"]) >= 0).all())
    assert bool((cols["price"] > 0).all()) and bool((cols["size"] > 0).all())


def test_trades_from_bars_each_bar_hits_open_high_low_close_inside_its_minute() -> None:
    bars = load_bars()[100:130]
    trades = list(trades_from_bars(bars, seed=5))
    for bar in bars:
        inside = [t for t in trades if bar.ts_ms <= t.ts_ms < bar.ts_ms + 60_000]
        prices = [t.price for t in inside]
        assert prices[0] == bar.open and prices[-1] == bar.close
        assert min(prices) == bar.low and max(prices) == bar.high
        volume_usd = sum(t.size for t in inside) * bar.close
        assert abs(volume_usd - bar.volume) / bar.volume < 0.05


def test_trades_from_bars_flat_bar_prints_its_price() -> None:
    bar = Bar(60_000, 100.0, 100.0, 100.0, 100.0, 0.0)
    trades = list(trades_from_bars([bar], seed=1))
    assert len(trades) >= 4 and {t.price for t in trades} == {100.0}
