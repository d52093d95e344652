"""A comparison as one self-contained HTML page: charts, the metric table with verdicts,
the unmatched fills with reasons, the first diverging decision, accounting parity.

plotly.js is inlined once (with the first chart), so the page opens with no network; the
tables are plain HTML made from the JSON document (:mod:`daemons.validation.report_json`).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from daemons.validation import charts
from daemons.validation.compare import Comparison
from daemons.validation.parity import Parity
from daemons.validation.report_json import document
from daemons.validation.report_md import VERDICT, decision_text, iso, metric_value

#: Unmatched rows shown per model (the JSON document has all of them).
MAX_UNMATCHED_ROWS = 500

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1300px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pass { background: #e5f6e5; } .FAIL { background: #fbe3e3; } .reported { color: #666; }
pre { margin: 0; white-space: pre-wrap; font-size: 0.85em; }
.chart { margin-bottom: 1.5em; }
"""


def render(comparison: Comparison, parity: Parity | None = None) -> str:
    """The page for ``comparison`` (and the live run's accounting parity, if checked)."""
    doc = document(comparison, parity)
    plots = embed([charts.price_chart(comparison), charts.equity_chart(comparison),
                   charts.levels_chart(comparison), charts.position_chart(comparison)])
    run = doc["run"]
    title = f"Comparison of run {run['run_id']} ({run['symbol']})"
    body = [f"<h1>{escape(title)}</h1>",
            f"<p>Window {iso(run['start_ms'])} to {iso(run['end_ms'])}; order latency p50 "
            f"{run['latency_ms']['p50']} ms, p99 {run['latency_ms']['p99']} ms; "
            f"{len(run['gaps'])} capture gap(s). Live PnL {escape(str(doc['live']['pnl']))} "
            "USDT.</p>",
            "<h2>Verdicts</h2>", metric_table(doc["models"], _money_rows(doc["models"])),
            "<h2>Charts</h2>", *plots,
            "<h2>Long / short</h2>", _directions_table(doc["directions"]),
            "<h2>First diverging decision</h2>", *[divergence_section(m) for m in doc["models"]],
            "<h2>Unmatched and far-off fills</h2>", *[_unmatched(m) for m in doc["models"]]]
    if doc["parity"] is not None:
        body += ["<h2>Accounting parity (gridcore against the exchange)</h2>",
                 _parity_table(doc["parity"])]
    return page(title, body)


def page(title: str, body: list[str]) -> str:
    """A whole self-contained page: ``body`` is HTML already (escape what you put in)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def embed(figures: list[go.Figure]) -> list[str]:
    """Each figure as a ``<div class="chart">`` with id ``chart-<n>``; plotly.js is
    inlined once, with the first, so the page opens with no network."""
    return ['<div class="chart">' + pio.to_html(
        fig, full_html=False, include_plotlyjs=(n == 0), div_id=f"chart-{n}",
        config={"displaylogo": False}) + "</div>" for n, fig in enumerate(figures)]


class Html(str):
    """Markup a :func:`table` cell holds as it is (a link made with escaped parts)."""


def table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """An HTML table; cells are escaped here (but :class:`Html`), ``classes`` style rows."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        f'<tr class="{classes[i] if classes else ""}">'
        + "".join(f"<td>{cell if isinstance(cell, Html) else escape(cell)}</td>"
                  for cell in row) + "</tr>"
        for i, row in enumerate(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def metric_table(models: list[dict[str, Any]], extra: list[list[str]] | None = None) -> str:
    """Each metric with its target, each model's value and verdict, the overall verdict
    (``models``: the JSON document's, or stored rows shaped alike), then ``extra`` rows."""
    if not models:
        return "<p>No replay to compare with.</p>"
    header = ["metric", "target", *[m["model"] for m in models]]
    rows = [[first["name"], first["target"],
             *[f"{metric_value(m['metrics'][i])}: {VERDICT[m['metrics'][i]['passed']]}"
               for m in models]] for i, first in enumerate(models[0]["metrics"])]
    rows.append(["overall", "every target", *[VERDICT[m["passed"]] for m in models]])
    return table(header, rows + (extra or []))


def _money_rows(models: list[dict[str, Any]]) -> list[list[str]]:
    return [["PnL (USDT)", "", *[str(m["pnl"]) for m in models]],
            ["fee delta / funding delta (live - model)", "",
             *[f"{m['fee_delta']} / {m['funding_delta']}" for m in models]]]


def _directions_table(rows: list[dict[str, Any]]) -> str:
    return table(["direction", "source", "fills", "realised", "fees", "funding", "PnL"],
                  [[r["direction"], r["source"], str(r["fills"]), str(r["realised"]),
                    str(r["fees"]), str(r["funding"]), str(r["pnl"])] for r in rows])


def divergence_section(model: dict[str, Any]) -> str:
    """A model's first diverging decision, live beside replay (its JSON document's)."""
    div = model["divergence"]
    if div is None:
        return f"<h3>{escape(model['model'])}</h3><p>None: the decisions are the same.</p>"
    live, replay = div["live"], div["replay"]
    trigger = live if live is not None else replay
    rows = [["decision", decision_text(live), decision_text(replay)],
            ["trigger", _trigger_text(live), _trigger_text(replay)]]
    return (f"<h3>{escape(model['model'])}: decision #{div['index']} at {iso(div['ts'])}, on a "
            f"{escape(trigger['trigger_kind'])}</h3>"
            + table(["", "live", f"replay ({model['model']})"], rows))


def _trigger_text(decision: dict[str, Any] | None) -> str:
    if decision is None:
        return ""
    return f"{decision['trigger_kind']} {json.dumps(decision['trigger'], sort_keys=True)}"


def _unmatched(model: dict[str, Any]) -> str:
    items = model["unmatched"]
    rows = [[u["kind"], u["reason"], u["order"]["order_link_id"], iso(u["order"]["ts"]),
             u["order"]["side"], u["order"]["price"], u["order"]["qty"],
             "" if u["twin"] is None else f"{iso(u['twin']['ts'])} at {u['twin']['price']}",
             u["detail"]] for u in items[:MAX_UNMATCHED_ROWS]]
    more = (f"<p>{len(items) - MAX_UNMATCHED_ROWS} more in the JSON document.</p>"
            if len(items) > MAX_UNMATCHED_ROWS else "")
    header = ["kind", "reason", "order", "time", "side", "price", "qty", "twin", "why"]
    return (f"<h3>{escape(model['model'])}: {len(items)}</h3>" + table(header, rows) + more)


def _parity_table(parity: dict[str, Any]) -> str:
    rows = [[line["quantity"], str(line["position_idx"] or "all"), str(line["gridcore"]),
             str(line["exchange"]), str(line["worst_difference"]), str(line["reports"]),
             "pass" if line["ok"] else "FAIL"] for line in parity["lines"]]
    classes = ["pass" if line["ok"] else "FAIL" for line in parity["lines"]]
    return table(["quantity", "side", "gridcore", "exchange", "worst difference", "reports",
                   "verdict"], rows, classes)
