"""The comparison metrics of one replay against the live run, each with its verdict.

Definitions and targets are docs/validation.md's table ("4. Comparison metrics"); the
targets live in :mod:`daemons.validation.targets`. Counts are of orders (partial fills
aggregated), the unit pairs are made of. A metric that cannot be measured (no pairs, a
live PnL of zero against a non-zero replay PnL) has no value; its verdict says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from daemons.validation import targets
from daemons.validation.matching import Matching


@dataclass(frozen=True, slots=True)
class Metric:
    """One row of the metric table. ``passed`` is ``None`` for a metric only reported."""

    name: str
    value: float | None
    unit: str
    target: str
    passed: bool | None
    definition: str


def _ratio(part: int, whole: int, empty: float) -> float:
    return part / whole if whole else empty


def compute_metrics(matching: Matching, tick_size: Decimal, live_pnl: Decimal,
                    sim_pnl: Decimal) -> list[Metric]:
    """Every metric of the table for one replay."""
    pairs = matching.pairs
    live_n = len(pairs) + len(matching.missed)
    sim_n = len(pairs) + len(matching.phantom)
    match = _ratio(len(pairs), live_n, 1.0 if sim_n == 0 else 0.0)
    slippage = (sum(p.slippage_ticks(tick_size) for p in pairs) / len(pairs)) if pairs else None
    drift = (sum(abs(p.drift_ms) for p in pairs) / len(pairs)) if pairs else None
    missed = _ratio(len(matching.missed), live_n, 0.0)
    phantom = _ratio(len(matching.phantom), sim_n, 0.0)
    pnl_delta = _pnl_delta(live_pnl, sim_pnl)
    return [
        Metric("trade count match", match, "ratio", f"> {targets.TRADE_COUNT_MATCH_MIN}",
               match > targets.TRADE_COUNT_MATCH_MIN, "matched live fills / live fills"),
        Metric("fill count ratio", _ratio(sim_n, live_n, 1.0 if sim_n == 0 else 0.0), "ratio",
               "reported", None, "simulated fills / live fills"),
        Metric("price slippage", slippage, "ticks", f"< {targets.PRICE_SLIPPAGE_MAX_TICKS}",
               _below(slippage, targets.PRICE_SLIPPAGE_MAX_TICKS),
               "mean |live price - simulated price| / tick size over matched pairs"),
        Metric("timing drift", drift, "ms", f"< {targets.TIMING_DRIFT_MAX_MS}",
               _below(drift, targets.TIMING_DRIFT_MAX_MS),
               "mean |live time - simulated time| over matched pairs"),
        Metric("PnL delta", pnl_delta, "ratio", f"< {targets.PNL_DELTA_MAX}",
               _below(pnl_delta, targets.PNL_DELTA_MAX) is True,
               "|live PnL - simulated PnL| / |live PnL|, "
               "PnL = realised + unrealised - fees - funding paid"),
        Metric("missed trades", missed, "ratio", f"< {targets.MISSED_TRADES_MAX}",
               missed < targets.MISSED_TRADES_MAX,
               "live fills with no simulated match / live fills"),
        Metric("phantom trades", phantom, "ratio", "reported", None,
               "simulated fills with no live match / simulated fills"),
    ]


def _below(value: float | None, limit: float) -> bool | None:
    """Below the limit; nothing to measure (no pairs) is no verdict."""
    return None if value is None else value < limit


def _pnl_delta(live: Decimal, sim: Decimal) -> float | None:
    """Relative PnL difference; undefined (``None``) when live made exactly nothing and the
    replay did (a relative error of infinity): the verdict is then a fail."""
    if live == 0:
        return 0.0 if sim == 0 else None
    return float(abs(live - sim) / abs(live))


def overall(metrics: Sequence[Metric]) -> bool:
    """Every metric with a target passes (unmeasurable slippage and drift do not count)."""
    return all(m.passed is not False for m in metrics)
