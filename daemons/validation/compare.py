"""The comparison of a live run with its replays, one per fill model (pure: no I/O).

:func:`compare_run` takes a :class:`~daemons.validation.inputs.ComparisonInput` and
returns everything the reports show: per model, the pairs, the metrics and their
verdicts, a reason for every unmatched or far-off fill and the first diverging decision;
for all sides, gridcore's books (equity, positions over time), fills per grid level and
the long/short split.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from daemons.validation import targets
from daemons.validation.books import Books, build_books
from daemons.validation.breakdown import DirectionRow, LevelRow, directions, levels
from daemons.validation.divergence import Divergence, first_divergence
from daemons.validation.inputs import ComparisonInput, RunSide
from daemons.validation.market import MarketIndex
from daemons.validation.matching import Matching, OrderFill, aggregate, match
from daemons.validation.metrics import Metric, compute_metrics, overall
from daemons.validation.reasons import (
    Context,
    Explained,
    Kind,
    OrderLives,
    explain_far_off,
    explain_unmatched,
)

#: Equity samples: one a minute, at most this many over the window.
MAX_EQUITY_POINTS = 2_000


@dataclass(frozen=True)
class ModelComparison:
    """The live run against one replay."""

    model: str
    matching: Matching
    metrics: list[Metric]
    passed: bool
    explained: list[Explained]
    divergence: Divergence | None
    pnl: Decimal
    fee_delta: Decimal
    funding_delta: Decimal


@dataclass(frozen=True)
class Comparison:
    """Everything a report shows about one run."""

    input: ComparisonInput
    live_pnl: Decimal
    mark: Decimal | None
    models: list[ModelComparison]
    books: dict[str, Books]
    orders: dict[str, list[OrderFill]]
    levels: list[LevelRow]
    directions: list[DirectionRow]
    equity_times: np.ndarray
    equity: dict[str, np.ndarray]

    @property
    def passed(self) -> dict[str, bool]:
        """The overall verdict per model."""
        return {m.model: m.passed for m in self.models}


def compare_run(inp: ComparisonInput) -> Comparison:
    """Compare the live side of ``inp`` with each of its replays."""
    market = MarketIndex(inp.tape)
    mark = market.last_price()
    sides: list[RunSide] = [inp.live, *inp.replays]
    books = {s.name: build_books(s.fills, market, inp.start_positions) for s in sides}
    orders = {s.name: aggregate(s.fills)[0] for s in sides}
    live_pnl = books["live"].pnl(mark)
    live_lives = OrderLives(inp.live.decisions, orders["live"], inp.open_at_start,
                            inp.latency.bound_ms)
    models = [_model(inp, side, market, books, orders, live_lives, live_pnl, mark)
              for side in inp.replays]
    times = equity_times(inp.start_ms, inp.end_ms)
    return Comparison(
        input=inp, live_pnl=live_pnl, mark=mark, models=models, books=books, orders=orders,
        levels=levels(orders, inp.tick_size), directions=directions(books, mark),
        equity_times=times, equity={name: b.equity_curve(market, times)
                                    for name, b in books.items()})


def _model(inp: ComparisonInput, side: RunSide, market: MarketIndex, books: dict[str, Books],
           orders: dict[str, list[OrderFill]], live_lives: OrderLives, live_pnl: Decimal,
           mark: Decimal | None) -> ModelComparison:
    matching = match(inp.live.fills, side.fills)
    pnl = books[side.name].pnl(mark)
    metrics = compute_metrics(matching, inp.tick_size, live_pnl, pnl)
    bound = inp.latency.bound_ms
    ctx = Context(market, inp.gaps, bound, inp.start_ms, live_lives,
                  OrderLives(side.decisions, orders[side.name], inp.open_at_start, bound))
    explained = [explain_unmatched(o, Kind.MISSED, ctx) for o in matching.missed]
    explained += [explain_unmatched(o, Kind.PHANTOM, ctx) for o in matching.phantom]
    explained += [explain_far_off(p, ctx, inp.tick_size) for p in matching.pairs
                  if abs(p.drift_ms) > targets.TIMING_DRIFT_MAX_MS
                  or p.slippage_ticks(inp.tick_size) > targets.PRICE_SLIPPAGE_MAX_TICKS]
    explained.sort(key=lambda e: (e.order.ts, e.kind))
    live_books, sim_books = books["live"], books[side.name]
    return ModelComparison(
        model=side.name, matching=matching, metrics=metrics, passed=overall(metrics),
        explained=explained, divergence=first_divergence(inp.live.decisions, side.decisions),
        pnl=pnl, fee_delta=live_books.total("fees") - sim_books.total("fees"),
        funding_delta=live_books.total("funding") - sim_books.total("funding"))


def equity_times(start_ms: int, end_ms: int) -> np.ndarray:
    """Sample times from start to end (both included): a minute apart, or wider to keep
    at most :data:`MAX_EQUITY_POINTS`."""
    step = max(60_000, -(-(end_ms - start_ms) // MAX_EQUITY_POINTS))
    times = np.arange(start_ms, end_ms, step, dtype=np.int64)
    return np.append(times, np.int64(end_ms))
