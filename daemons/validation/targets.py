"""The comparison's targets, in one place (docs/validation.md, "4. Comparison metrics").

A metric passes when its value is on the right side of its target; the comparison passes
when every metric with a target passes. Phantom trades are reported without a verdict.
"""

from __future__ import annotations

from decimal import Decimal

#: matched live fills / live fills must exceed this (and simulated / live fills).
TRADE_COUNT_MATCH_MIN = 0.95
#: mean |live price - simulated price| in ticks over matched pairs must stay below.
PRICE_SLIPPAGE_MAX_TICKS = 2.0
#: mean |live time - simulated time| over matched pairs must stay below.
TIMING_DRIFT_MAX_MS = 1_000
#: |live PnL - simulated PnL| / |live PnL| must stay below.
PNL_DELTA_MAX = 0.05
#: live fills with no simulated match / live fills must stay below.
MISSED_TRADES_MAX = 0.05

#: A live and a simulated fill of one key pair only within this much time of each other.
MATCH_WINDOW_MS = 3_600_000
#: Accounting parity: gridcore's books and the exchange agree within this (USDT).
PARITY_TOLERANCE_USDT = Decimal("0.01")
