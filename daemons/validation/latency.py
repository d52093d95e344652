"""A run's order latency: from the moment a request was sent to the exchange's own time
for it (its acknowledgement).

The replays of a live window run with this latency, and a fill that lands within it of a
placement or a cancel is put down to latency rather than to the fill model
(docs/validation.md, "Comparison").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Percentiles of the measured latencies in ms; ``bound_ms`` is the one reasons use."""

    count: int
    p50_ms: int
    p99_ms: int
    max_ms: int

    @property
    def bound_ms(self) -> int:
        """How close to a placement or cancel a fill must be to blame latency: the 99th
        percentile (the maximum would let one stalled request excuse everything)."""
        return self.p99_ms

    @classmethod
    def fixed(cls, latency_ms: int) -> LatencyStats:
        """One known latency (a replay's ``--latency-ms``, or a test's)."""
        if latency_ms < 0:
            raise ValueError(f"latency_ms: must be >= 0, got {latency_ms}")
        return cls(count=0, p50_ms=latency_ms, p99_ms=latency_ms, max_ms=latency_ms)


def measure_latency(sent_ms: Mapping[str, int], acked_ms: Mapping[str, int]) -> LatencyStats:
    """Latency per order present in both maps (client id -> time), as percentiles.

    ``sent_ms`` is when each request was decided (the exchange time of the event that
    triggered its decision: the moment a replay decides), ``acked_ms`` the exchange's time
    for it (the order's first state on the book, or its cancellation;
    :mod:`daemons.validation.load`). A negative difference counts as 0; no common order
    gives zeros, as a replay without latency.
    """
    waits = [max(acked_ms[k] - sent_ms[k], 0) for k in sent_ms.keys() & acked_ms.keys()]
    if not waits:
        return LatencyStats.fixed(0)
    values = np.asarray(waits, dtype=np.int64)
    return LatencyStats(
        count=len(waits),
        p50_ms=int(np.percentile(values, 50, method="higher")),
        p99_ms=int(np.percentile(values, 99, method="higher")),
        max_ms=int(values.max()),
    )
