"""A comparison as one JSON document, for machines and for the other two reports.

The Markdown and HTML reports read this document (and the HTML page the comparison's
arrays for its charts), so every number is formatted in one place: money as decimal
strings with 8 places, ratios as floats, times as epoch milliseconds.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from daemons.validation.books import Books
from daemons.validation.compare import Comparison, ModelComparison
from daemons.validation.divergence import Divergence
from daemons.validation.inputs import Decision
from daemons.validation.matching import OrderFill
from daemons.validation.metrics import Metric
from daemons.validation.parity import Parity
from daemons.validation.reasons import Explained

_EIGHT = Decimal("1e-8")
SCHEMA = "gridbot.comparison/1"


def money(value: Decimal | None) -> str | None:
    """8 places, fixed-point (as backtest summaries print money)."""
    return None if value is None else format(value.quantize(_EIGHT), "f")


def document(comparison: Comparison, parity: Parity | None = None) -> dict[str, Any]:
    """Everything the comparison found, as JSON values."""
    inp = comparison.input
    return {
        "schema": SCHEMA,
        "run": {"run_id": inp.run_id, "symbol": inp.symbol, "start_ms": inp.start_ms,
                "end_ms": inp.end_ms, "tick_size": str(inp.tick_size),
                "latency_ms": {"count": inp.latency.count, "p50": inp.latency.p50_ms,
                               "p99": inp.latency.p99_ms, "max": inp.latency.max_ms},
                "mark": money(comparison.mark), "gaps": [
                    {"start_ms": g.start_ms, "end_ms": g.end_ms, "stream": g.stream,
                     "reason": g.reason} for g in inp.gaps]},
        "verdicts": comparison.passed,
        "live": _side(comparison.books["live"], comparison, "live"),
        "models": [_model(m, comparison) for m in comparison.models],
        "levels": [{"price": str(r.price), "side": r.side, "fills": dict(r.fills)}
                   for r in comparison.levels],
        "directions": [{"direction": r.direction, "source": r.source, "fills": r.fills,
                        "realised": money(r.realised), "fees": money(r.fees),
                        "funding": money(r.funding), "pnl": money(r.pnl)}
                       for r in comparison.directions],
        "equity": {"ts": comparison.equity_times.tolist(),
                   **{name: [round(float(v), 8) for v in values]
                      for name, values in comparison.equity.items()}},
        "positions": {name: [[p.ts, str(p.long_size), money(p.long_entry), str(p.short_size),
                              money(p.short_entry)] for p in books.points]
                      for name, books in comparison.books.items()},
        "parity": None if parity is None else _parity(parity),
    }


def render(comparison: Comparison, parity: Parity | None = None) -> str:
    """The document as indented JSON text."""
    return json.dumps(document(comparison, parity), indent=1)


def _side(books: Books, comparison: Comparison, name: str) -> dict[str, Any]:
    mark = comparison.mark
    return {"orders_filled": len(comparison.orders[name]),
            "executions": sum(books.fills.values()), "pnl": money(books.pnl(mark)),
            "realised": money(books.total("realised")), "fees": money(books.total("fees")),
            "funding": money(books.total("funding")), "unrealised": money(books.unrealised(mark))}


def _model(model: ModelComparison, comparison: Comparison) -> dict[str, Any]:
    matching = model.matching
    return {
        "model": model.model, "passed": model.passed,
        "metrics": [metric_document(m) for m in model.metrics],
        **_side(comparison.books[model.model], comparison, model.model),
        "pnl_delta": money(comparison.live_pnl - model.pnl),
        "fee_delta": money(model.fee_delta), "funding_delta": money(model.funding_delta),
        "pairs": len(matching.pairs), "missed": len(matching.missed),
        "phantom": len(matching.phantom),
        "foreign_fills": {"live": matching.foreign_live, "replay": matching.foreign_sim},
        "unmatched": [_explained(e) for e in model.explained],
        "divergence": divergence_document(model.divergence),
    }


def metric_document(metric: Metric) -> dict[str, Any]:
    """One row of the metric table."""
    return {"name": metric.name, "value": metric.value, "unit": metric.unit,
            "target": metric.target, "passed": metric.passed, "definition": metric.definition}


def _order(order: OrderFill | None) -> dict[str, Any] | None:
    if order is None:
        return None
    return {"order_link_id": order.order_link_id, "ts": order.ts, "side": order.key.side,
            "direction": order.key.direction, "price": str(order.price), "qty": str(order.qty),
            "fills": order.fills}


def _explained(item: Explained) -> dict[str, Any]:
    return {"kind": item.kind.value, "reason": item.reason.value, "detail": item.detail,
            "order": _order(item.order), "twin": _order(item.twin)}


def _decision(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {"seq": decision.seq, "ts": decision.ts, "trigger_kind": decision.trigger_kind,
            "trigger": dict(decision.trigger), "intent_kind": decision.intent_kind,
            "order_link_id": decision.order_link_id, "side": decision.side,
            "price": None if decision.price is None else str(decision.price),
            "qty": None if decision.qty is None else str(decision.qty),
            "intent": dict(decision.intent)}


def divergence_document(divergence: Divergence | None) -> dict[str, Any] | None:
    """The first diverging decision, both sides' documents (None: no divergence)."""
    if divergence is None:
        return None
    return {"index": divergence.index, "ts": divergence.ts,
            "live": _decision(divergence.live), "replay": _decision(divergence.replay)}


def _parity(parity: Parity) -> dict[str, Any]:
    return {"ok": parity.ok, "lines": [
        {"quantity": line.quantity, "position_idx": line.position_idx,
         "gridcore": money(line.gridcore), "exchange": money(line.exchange),
         "difference": money(line.difference), "worst_difference": money(line.worst_difference),
         "tolerance": money(line.tolerance), "reports": line.reports, "ok": line.ok}
        for line in parity.lines]}
