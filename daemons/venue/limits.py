"""Bounds of the venue's numeric settings, shared by ``VenueConfig`` and ``gridbot venue``.

A module of plain numbers so that the command line can declare them on its options
without importing the venue (``gridbot --help`` stays instant). Each bound is far beyond
any sensible run and keeps the arithmetic finite: a speed of ``inf`` divided every tape
time to zero, and a fault of ``1e300`` seconds overflowed its end time.
"""

from __future__ import annotations

SPEED_RANGE = (0.001, 1_000_000.0)  # tape speed factor: a year of trades in 30 s at most
MAX_LATENCY_MS = 60_000.0  # median order latency: a minute
MAX_DEPTH_QTY = 1_000_000.0  # median hidden size per price level, base units
MAX_FUNDING_INTERVAL_S = 30 * 86_400  # Bybit's intervals are 1 to 8 hours
MAX_SEED = 2**63 - 1  # what numpy's and Python's generators take without surprise
TRADE_RATE_RANGE = (0.001, 10.0)  # share of the bundled tape's trades per second, per symbol
