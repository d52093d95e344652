"""Calibration's fitting rule: best match, then PnL delta, ties to the smaller queue; judged
out of sample on a window the fit never saw."""

from __future__ import annotations

import math

import pytest

from daemons.validation.calibration import (
    MULTIPLES,
    Score,
    Window,
    calibrate,
    candidates,
    split,
)


def test_split_cuts_the_window_at_the_share() -> None:
    fit, test = split(0, 1000, 0.6)
    assert (fit.start_ms, fit.end_ms, test.start_ms, test.end_ms) == (0, 600, 600, 1000)
    with pytest.raises(ValueError):
        split(0, 1000, 1.0)


def test_candidates_are_multiples_of_the_median_trade() -> None:
    assert candidates(0.01) == [m * 0.01 for m in MULTIPLES]
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            candidates(bad)


def test_calibrate_picks_best_match_then_pnl_then_smaller_queue() -> None:
    """A true queue of 0.4: the replay matches best there; the out-of-sample score is the
    test window's at the fitted value, never a refit."""
    calls: list[tuple[Window, float]] = []

    def evaluate(window: Window, q: float) -> Score:
        calls.append((window, q))
        match = 1.0 - abs(q - 0.4) / 2
        shift = 0.0 if window.start_ms == 0 else 0.05
        return Score(match - shift, abs(q - 0.4) + shift, 100, 100)

    fit, test = split(0, 10_000)
    result = calibrate("BTCUSDT", 25, fit, test, [0.0, 0.2, 0.4, 0.8], evaluate)
    assert result.queue_ahead == 0.4 and result.latency_ms == 25
    assert result.in_sample.match == pytest.approx(1.0)
    assert result.out_of_sample.match == pytest.approx(0.95)
    assert [q for w, q in calls if w == test] == [0.4], "only the fitted value is tested"


def test_calibrate_tie_goes_to_the_smaller_queue() -> None:
    def flat(window: Window, q: float) -> Score:
        return Score(0.9, 0.02, 50, 50)

    fit, test = split(0, 100)
    assert calibrate("X", 0, fit, test, [2.0, 1.0, 0.5], flat).queue_ahead == 0.5


def test_calibrate_zero_live_pnl_never_beats_a_real_delta() -> None:
    def evaluate(window: Window, q: float) -> Score:
        return Score(0.9, math.inf if q == 1.0 else 0.3, 10, 10)

    fit, test = split(0, 100)
    assert calibrate("X", 0, fit, test, [1.0, 2.0], evaluate).queue_ahead == 2.0
