"""A finished comparison as the rows ``daemons.db.comparisons`` stores (sql/0010).

Per model: the metric table (the JSON report's documents), each metric's verdict, the
overall verdict, PnL, the first diverging decision, and every pair and every unmatched or
far-off order with its reason (a far-off pair is stored once, as far-off).
"""

from __future__ import annotations

from daemons.db.comparisons import FillRecord, FillSide, ModelRecord
from daemons.validation.compare import Comparison, ModelComparison
from daemons.validation.matching import OrderFill
from daemons.validation.reasons import Kind
from daemons.validation.report_json import divergence_document, metric_document


def model_records(comparison: Comparison) -> list[ModelRecord]:
    """One record per model of ``comparison``."""
    return [_record(model, comparison) for model in comparison.models]


def _record(model: ModelComparison, comparison: Comparison) -> ModelRecord:
    far = {(e.order.order_link_id, e.twin.order_link_id) for e in model.explained
           if e.kind is Kind.FAR_OFF and e.twin is not None}
    fills = [FillRecord("pair", _side(p.live), _side(p.sim)) for p in model.matching.pairs
             if (p.live.order_link_id, p.sim.order_link_id) not in far]
    for item in model.explained:
        live, sim = (item.order, item.twin) if item.kind is not Kind.PHANTOM else (None,
                                                                                   item.order)
        fills.append(FillRecord(item.kind.value, _side(live), _side(sim), item.reason.value,
                                item.detail))
    return ModelRecord(
        fill_model=model.model, passed=model.passed,
        metrics=[metric_document(m) for m in model.metrics],
        verdicts={m.name: m.passed for m in model.metrics}, live_pnl=comparison.live_pnl,
        pnl=model.pnl, pairs=len(model.matching.pairs), missed=len(model.matching.missed),
        phantom=len(model.matching.phantom),
        divergence=divergence_document(model.divergence), fills=fills)


def _side(order: OrderFill | None) -> FillSide | None:
    if order is None:
        return None
    return FillSide(order.order_link_id, order.ts, order.price, order.qty)
