"""The nightly report's charts, as plotly figures made from its frames
(:class:`daemons.validation.nightly_report.NightlyFrames`): verdicts per run and model,
trade count match and PnL delta per model, reasons of unmatched fills, calibrations in and
out of sample. Colours and layout are the comparison report's (:mod:`.charts`)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from daemons.validation import targets
from daemons.validation.charts import LAYOUT, colour
from daemons.validation.check import ALL_MODELS as MODELS
from daemons.validation.reasons import Reason

#: The reasons of docs/validation.md, each its colour.
REASONS = {Reason.DATA_GAP.value: "#7f7f7f", Reason.LATENCY.value: "#17becf",
           Reason.QUEUE.value: "#bcbd22", Reason.DIVERGENCE.value: "#d62728"}


def model_colour(model: str) -> str:
    """A model's colour in every report (live is first there, hence the + 1)."""
    return colour(MODELS.index(model) + 1 if model in MODELS else 0, model)


def run_label(row: pd.Series) -> str:
    """A run as the charts name it: user, account, symbol, type, the id's first part."""
    return (f"{row['username']} {row['account_name']} {row['symbol']} {row['run_type']} "
            f"{str(row['run_id'])[:8]}")


def verdicts(results: pd.DataFrame) -> dict[tuple[object, str], bool]:
    """Each (comparison, model)'s verdict."""
    return {(c, m): bool(p) for c, m, p in
            zip(results["comparison_id"], results["fill_model"], results["passed"],
                strict=True)}


def verdict_chart(runs: pd.DataFrame, results: pd.DataFrame) -> go.Figure:
    """One cell per compared run and model: green passed, red failed."""
    compared = runs[runs["comparison_id"].notna()]
    labels = [run_label(row) for _, row in compared.iterrows()]
    found = verdicts(results)
    z = [[float(found[(c, m)]) if (c, m) in found else None for m in MODELS]
         for c in compared["comparison_id"]]
    text = [["pass" if v == 1.0 else "FAIL" if v == 0.0 else "" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=list(MODELS), y=labels, text=text,
                               texttemplate="%{text}", zmin=0, zmax=1, showscale=False,
                               xgap=2, ygap=2, colorscale=[[0, "#f4b6b6"], [1, "#b9e4b9"]]))
    fig.update_layout(title="Verdicts per run and model", yaxis={"autorange": "reversed"},
                      **{**LAYOUT, "height": max(300, 60 + 28 * len(labels))})
    return fig


def match_and_pnl_chart(results: pd.DataFrame) -> go.Figure:
    """Per model, every run's trade count match and PnL delta, with the targets."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        f"trade count match (target > {targets.TRADE_COUNT_MATCH_MIN})",
        f"PnL delta (target < {targets.PNL_DELTA_MAX})"))
    for model in MODELS:
        rows = results[results["fill_model"] == model]
        for col, column in ((1, "match"), (2, "pnl_delta")):
            fig.add_trace(go.Box(y=rows[column], name=model, boxpoints="all", pointpos=0,
                                 marker={"color": model_colour(model)},
                                 showlegend=col == 1, legendgroup=model), row=1, col=col)
    fig.add_hline(y=targets.TRADE_COUNT_MATCH_MIN, line={"dash": "dot"}, row=1, col=1)
    fig.add_hline(y=targets.PNL_DELTA_MAX, line={"dash": "dot"}, row=1, col=2)
    fig.update_layout(title="Trade count match and PnL delta per model (one point per run)",
                      **LAYOUT)
    return fig


def reason_counts(reasons: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Unmatched and far-off fills per (model, reason), every run's together."""
    counts: dict[tuple[str, str], int] = {}
    for model, reason, fills in zip(reasons["fill_model"], reasons["reason"],
                                    reasons["fills"], strict=True):
        counts[(model, reason)] = counts.get((model, reason), 0) + int(fills)
    return counts


def reasons_chart(reasons: pd.DataFrame) -> go.Figure:
    """Unmatched and far-off fills per model, stacked by reason."""
    fig = go.Figure()
    counts = reason_counts(reasons)
    for reason, shade in REASONS.items():
        fig.add_trace(go.Bar(x=list(MODELS), y=[counts.get((m, reason), 0) for m in MODELS],
                             name=reason, marker={"color": shade}))
    fig.update_layout(title="Reasons of unmatched and far-off fills, every run",
                      barmode="stack", yaxis_title="orders", **LAYOUT)
    return fig


def calibration_chart(calibrations: pd.DataFrame) -> go.Figure:
    """Each calibration's trade count match and PnL delta, in and out of sample."""
    labels = [f"{r.username} {r.symbol} q={r.queue_ahead:g}"
              for r in calibrations.itertuples()]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("trade count match", "PnL delta"))
    for col, metric in ((1, "match"), (2, "pnl_delta")):
        for sample, shade in (("in", "#1f77b4"), ("out", "#ff7f0e")):
            fig.add_trace(go.Bar(x=labels, y=calibrations[f"{sample}_{metric}"],
                                 name=f"{sample} of sample", marker={"color": shade},
                                 showlegend=col == 1, legendgroup=sample), row=1, col=col)
    fig.update_layout(title="QUEUE calibrations: fitted on a run's first half (in sample), "
                      "judged on its second (out of sample)", barmode="group", **LAYOUT)
    return fig
