"""The venue's hidden models: resting depth at each price and order latency.

They are deliberately the venue's own (seeded ``random.Random``, lognormal laws) and
share nothing with gridcore's backtest fill models: the backtest is measured against
the venue, so it must not be able to see or reuse these parameters (validation.md).
"""

from __future__ import annotations

import math
import random


class DepthModel:
    """Hidden resting size at a price level, in lots.

    Assumption: sizes are lognormal around ``median_qty`` at the touch and grow by
    ``growth_per_tick`` per tick of distance from it, as books thicken away from the
    spread. ``sigma=0`` and ``growth_per_tick=0`` give a fixed, known queue (tests).
    """

    def __init__(
        self, rng: random.Random, median_qty: float, sigma: float,
        growth_per_tick: float, qty_step: float,
    ) -> None:
        if median_qty < 0 or sigma < 0 or growth_per_tick < 0 or qty_step <= 0:
            raise ValueError("depth model parameters must be non-negative (qty_step positive)")
        self._rng = rng
        self._mu = math.log(median_qty) if median_qty > 0 else None
        self._sigma = sigma
        self._growth = growth_per_tick
        self._step = qty_step

    def draw(self, distance_ticks: int) -> int:
        """Draw the hidden size of a level ``distance_ticks`` away from the touch."""
        if self._mu is None:
            return 0
        size = math.exp(self._mu + self._sigma * self._rng.gauss(0.0, 1.0))
        size *= 1.0 + self._growth * max(distance_ticks, 0)
        return max(1, round(size / self._step))


class LatencyModel:
    """Delay between a request's arrival and its effect in the matching engine, in ms.

    Assumption: lognormal around ``median_ms`` (a heavy right tail, as real gateways
    have); ``median_ms=0`` means orders act at once.
    """

    def __init__(self, rng: random.Random, median_ms: float, sigma: float) -> None:
        if median_ms < 0 or sigma < 0:
            raise ValueError("latency parameters must not be negative")
        self._rng = rng
        self._mu = math.log(median_ms) if median_ms > 0 else None
        self._sigma = sigma

    def draw(self) -> int:
        """Draw one order's latency."""
        if self._mu is None:
            return 0
        return max(0, round(math.exp(self._mu + self._sigma * self._rng.gauss(0.0, 1.0))))
