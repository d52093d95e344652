"""A comparison as a Markdown summary: verdicts, the metric table, reasons, divergences,
accounting parity. Made from the JSON document (:mod:`daemons.validation.report_json`)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

VERDICT = {True: "pass", False: "FAIL", None: "reported"}


def iso(ms: int) -> str:
    """Epoch milliseconds as an ISO-8601 UTC time."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def metric_value(metric: dict[str, Any]) -> str:
    """A metric's value with its unit, or ``n/a`` when it could not be measured."""
    value = metric["value"]
    if value is None:
        return "n/a"
    if metric["unit"] == "ratio":
        return f"{value:.2%}"
    return f"{value:.2f} {metric['unit']}"


def render(doc: dict[str, Any]) -> str:
    """The summary of one comparison document."""
    run, models = doc["run"], doc["models"]
    lines = [f"# Comparison of run {run['run_id']} ({run['symbol']})", "",
             f"Window {iso(run['start_ms'])} to {iso(run['end_ms'])}; order latency p50 "
             f"{run['latency_ms']['p50']} ms, p99 {run['latency_ms']['p99']} ms; "
             f"{len(run['gaps'])} capture gap(s).", "",
             f"Live: {doc['live']['orders_filled']} orders filled, PnL {doc['live']['pnl']} "
             f"USDT (realised {doc['live']['realised']}, fees {doc['live']['fees']}, funding "
             f"{doc['live']['funding']}, unrealised {doc['live']['unrealised']}).", "",
             "## Verdicts", "", verdict_table(models)]
    lines += ["", "## Money", "", "| source | PnL | fees | funding | PnL delta (live - it) |",
              "|---|---|---|---|---|",
              f"| live | {doc['live']['pnl']} | {doc['live']['fees']} | {doc['live']['funding']} "
              "| |"]
    lines += [f"| {m['model']} | {m['pnl']} | {m['fees']} | {m['funding']} | {m['pnl_delta']} |"
              for m in models]
    lines += ["", "## Unmatched and far-off fills", ""]
    for m in models:
        counts = Counter((u["kind"], u["reason"]) for u in m["unmatched"])
        summary = ", ".join(f"{n} {kind} ({reason})"
                            for (kind, reason), n in sorted(counts.items()))
        lines.append(f"- {m['model']}: {summary or 'none'}")
    lines += ["", "## First diverging decision", ""]
    for m in models:
        lines.append(f"- {m['model']}: {divergence_text(m['divergence'])}")
    if doc["parity"] is not None:
        lines += ["", "## Accounting parity", "", _parity_text(doc["parity"])]
    return "\n".join(lines) + "\n"


def verdict_table(models: list[dict[str, Any]]) -> str:
    """Each metric per model (value and verdict) and the overall verdict, as a table."""
    lines = ["| metric | target | " + " | ".join(m["model"] for m in models) + " |",
             "|---|---|" + "---|" * len(models)]
    for i, first in enumerate(models[0]["metrics"] if models else []):
        cells = [f"{metric_value(m['metrics'][i])} ({VERDICT[m['metrics'][i]['passed']]})"
                 for m in models]
        lines.append(f"| {first['name']} | {first['target']} | " + " | ".join(cells) + " |")
    lines.append("| **overall** | every target | "
                 + " | ".join("**pass**" if m["passed"] else "**FAIL**" for m in models) + " |")
    return "\n".join(lines)


def decision_text(decision: dict[str, Any] | None) -> str:
    """One decision in a few words."""
    if decision is None:
        return "nothing (no further decision)"
    if decision["intent_kind"] == "place":
        return (f"place {decision['side']} {decision['qty']} at {decision['price']} "
                f"({decision['order_link_id']})")
    return f"{decision['intent_kind']} {decision['order_link_id']}"


def divergence_text(div: dict[str, Any] | None) -> str:
    """The first diverging decision in a line (its JSON document's)."""
    if div is None:
        return "none: the decisions are the same"
    trigger = (div["live"] or div["replay"])
    return (f"decision #{div['index']} at {iso(div['ts'])} on a {trigger['trigger_kind']}: "
            f"live {decision_text(div['live'])}; replay {decision_text(div['replay'])}")


def _parity_text(parity: dict[str, Any]) -> str:
    if parity["ok"]:
        return f"gridcore's books agree with the exchange on all {len(parity['lines'])} lines."
    bad = [f"{line['quantity']}" + (f" (side {line['position_idx']})" if line["position_idx"]
                                    else "") + f": worst difference {line['worst_difference']}"
           for line in parity["lines"] if not line["ok"]]
    return "gridcore's books DISAGREE with the exchange: " + "; ".join(bad) + "."
