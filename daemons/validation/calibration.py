"""Calibrating the QUEUE model from live fills: fit on one window, judge on the next.

The QUEUE fill model has one parameter, the volume assumed to rest ahead of a new order
(``queue_ahead``, base units). The venue (and Bybit) never say how much that is, so it is
fitted from what the live run did: the run's window is cut in two, the first part replayed
with each candidate and scored against the live fills (trade count match first, then PnL
delta), and the winner judged on the second part, which the fit never saw. The order
latency is not searched: it is measured from the run's own acknowledgements (the median
of sent-to-exchange-time, :mod:`daemons.validation.latency`). Both in-sample and
out-of-sample scores are kept with the parameters, so a calibration that only fits its
own window shows it. Nothing here looks at the venue's hidden depth: the only inputs are
the live fills and the captured market.

This module is pure: the caller supplies ``evaluate(window, queue_ahead) -> Score`` (a
seeded replay compared with the live fills of that window).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Candidates as multiples of the window's median public trade size: nothing ahead, then a
#: geometric ladder up to the size of a thick book level.
MULTIPLES = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


@dataclass(frozen=True, slots=True)
class Score:
    """How a replay of a window compares with its live fills."""

    match: float          # matched live fills / live fills
    pnl_delta: float      # |live PnL - replay PnL| / |live PnL| (inf if live PnL is 0)
    live_fills: int
    replay_fills: int

    def key(self) -> tuple[float, float]:
        """Better first: higher match, then smaller PnL delta."""
        return (-self.match, self.pnl_delta if math.isfinite(self.pnl_delta) else 1e18)


@dataclass(frozen=True, slots=True)
class Window:
    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if not self.end_ms > self.start_ms:
            raise ValueError(f"window: end {self.end_ms} must be after start {self.start_ms}")


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted parameters with the windows and the scores that justify them."""

    symbol: str
    queue_ahead: float
    latency_ms: int
    fit_window: Window
    test_window: Window
    in_sample: Score
    out_of_sample: Score
    tried: tuple[tuple[float, Score], ...]


def split(start_ms: int, end_ms: int, fit_share: float = 0.5) -> tuple[Window, Window]:
    """The fit window (the first ``fit_share``) and the test window (the rest)."""
    if not 0 < fit_share < 1:
        raise ValueError(f"fit_share: must be between 0 and 1, got {fit_share}")
    cut = start_ms + int((end_ms - start_ms) * fit_share)
    return Window(start_ms, cut), Window(cut, end_ms)


def candidates(median_trade_size: float) -> list[float]:
    """The queue sizes tried, from the window's median public trade size."""
    if not median_trade_size > 0 or not math.isfinite(median_trade_size):
        raise ValueError(f"median trade size: must be positive, got {median_trade_size}")
    return [m * median_trade_size for m in MULTIPLES]


def calibrate(symbol: str, latency_ms: int, fit_window: Window, test_window: Window,
              tried_values: Sequence[float],
              evaluate: Callable[[Window, float], Score]) -> Calibration:
    """Fit ``queue_ahead`` on ``fit_window`` over ``tried_values``; judge it on the test
    window. Ties go to the smaller queue (the simpler assumption)."""
    if not tried_values:
        raise ValueError("calibration: no candidate queue size")
    tried = tuple((q, evaluate(fit_window, q)) for q in sorted(tried_values))
    best_q, best = min(tried, key=lambda pair: (*pair[1].key(), pair[0]))
    return Calibration(symbol, best_q, latency_ms, fit_window, test_window, best,
                       evaluate(test_window, best_q), tried)
