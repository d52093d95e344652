"""The nightly validation report of one UTC day, across users: one self-contained HTML page
with charts (:mod:`.nightly_charts`; page, tables, metric table and first diverging decision
of the per-run report :mod:`.report_html`) and a Markdown summary, both made from the
stored results as frames (:class:`NightlyFrames`; the pipeline reads them,
``gridbot_pipelines/defs/validation/results.py``). Pure: no I/O.

Per run (user, account, symbol, run type): each metric with its target, each fill model's
value and verdict, the overall verdict; for a run whose live engine decided differently
from a replay, the section "engine divergence" with its first differing decision per model
and how many unmatched fills that reason explains.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from daemons.validation import nightly_charts as charts
from daemons.validation.nightly_charts import MODELS, REASONS, reason_counts, verdicts
from daemons.validation.reasons import Reason
from daemons.validation.report_html import (
    Html,
    divergence_section,
    embed,
    metric_table,
    page,
    table,
)
from daemons.validation.report_json import money
from daemons.validation.report_md import VERDICT, divergence_text, iso, verdict_table

#: What the report calls a run whose live engine decided differently from a replay.
DIVERGENCE = Reason.DIVERGENCE.value


@dataclass(frozen=True)
class NightlyFrames:
    """A day's stored validation results.

    * ``runs``: every live or shadow run active that day (``run_id``, ``username``,
      ``account_name``, ``run_type``, ``symbol``) with its comparison of the day, if any
      (``comparison_id``, ``start_ms``, ``end_ms``, ``passed``, ``report_dir``);
    * ``results``: per comparison and model: ``passed``, ``metrics`` (the stored metric
      documents), ``divergence`` (the first diverging decision's document, or None),
      ``live_pnl``, ``pnl``, ``match`` (trade count match), ``pnl_delta``, ``pairs``,
      ``missed``, ``phantom``;
    * ``reasons``: unmatched and far-off fills per ``comparison_id``, ``fill_model`` and
      ``reason``: ``fills``;
    * ``calibrations``: per user and symbol: ``run_id``, ``queue_ahead``, ``latency_ms``,
      ``in_match``, ``out_match``, ``in_pnl_delta``, ``out_pnl_delta``.
    """

    day: str
    runs: pd.DataFrame
    results: pd.DataFrame
    reasons: pd.DataFrame
    calibrations: pd.DataFrame

    @property
    def compared(self) -> pd.DataFrame:
        return self.runs[self.runs["comparison_id"].notna()]

    def models(self, comparison_id: object) -> list[dict[str, Any]]:
        """One comparison's models as the JSON report's model documents (the fields the
        metric table and the divergence need), in the models' order."""
        rows = self.results[self.results["comparison_id"] == comparison_id]
        by_model = {row["fill_model"]: row for _, row in rows.iterrows()}
        return [{"model": m, "passed": bool(by_model[m]["passed"]),
                 "metrics": by_model[m]["metrics"], "pnl": money(Decimal(by_model[m]["pnl"])),
                 "live_pnl": money(Decimal(by_model[m]["live_pnl"])),
                 "divergence": by_model[m]["divergence"]} for m in MODELS if m in by_model]

    def divergent_fills(self, comparison_id: object) -> dict[str, int]:
        """Per model, the unmatched fills explained by engine divergence."""
        rows = self.reasons[(self.reasons["comparison_id"] == comparison_id)
                            & (self.reasons["reason"] == DIVERGENCE)]
        return {row["fill_model"]: int(row["fills"]) for _, row in rows.iterrows()}


def _number(value: object, form: str = ".2%") -> str:
    return "n/a" if value is None or pd.isna(value) else format(value, form)


def model_rows(frames: NightlyFrames) -> list[list[str]]:
    """Per model: runs passed, mean trade count match, median PnL delta, missed, phantom."""
    rows = []
    for model in MODELS:
        r = frames.results[frames.results["fill_model"] == model]
        rows.append([model, f"{int(r['passed'].sum())} of {len(r)}", _number(r["match"].mean()),
                     _number(r["pnl_delta"].median()), str(int(r["missed"].sum())),
                     str(int(r["phantom"].sum()))])
    return rows


def reason_rows(frames: NightlyFrames) -> list[list[str]]:
    """Per model, the unmatched and far-off fills of each reason."""
    counts = reason_counts(frames.reasons)
    return [[m, *[str(counts.get((m, r), 0)) for r in REASONS]] for m in MODELS]


def calibration_rows(frames: NightlyFrames) -> list[list[str]]:
    return [[r.username, r.symbol, f"{r.queue_ahead:g}", str(r.latency_ms),
             f"{_number(r.in_match)} / {_number(r.out_match)}",
             f"{_number(r.in_pnl_delta)} / {_number(r.out_pnl_delta)}"]
            for r in frames.calibrations.itertuples()]


_MODEL_HEADER = ["model", "runs passed", "trade count match (mean)", "PnL delta (median)",
                 "missed", "phantom"]
_CALIBRATION_HEADER = ["user", "symbol", "queue ahead", "latency ms",
                       "match in / out of sample", "PnL delta in / out of sample"]
_RUN_HEADER = ["user", "account", "symbol", "type", "run"]


def headline(frames: NightlyFrames) -> str:
    """The day in one sentence (the page's first line, the asset's log)."""
    compared, users = frames.compared, frames.runs["username"].nunique()
    return (f"{len(compared)} of {len(frames.runs)} live or shadow runs active that day "
            f"compared ({users} user{'' if users == 1 else 's'}); "
            f"{len(frames.runs) - len(compared)} not compared; "
            f"{len(frames.calibrations)} QUEUE calibration(s).")


def _who(run: pd.Series) -> list[str]:
    return [str(run["username"]), str(run["account_name"]), str(run["symbol"]),
            str(run["run_type"]), str(run["run_id"])]


def _verdict(run: pd.Series) -> str:
    return VERDICT[bool(run["passed"])] if pd.notna(run["comparison_id"]) else "not compared"


def render_markdown(frames: NightlyFrames) -> str:
    """The summary: headline, models, each run's metric table and divergence, reasons,
    calibrations, runs not compared."""
    def md(header: list[str], rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                *["| " + " | ".join(row) + " |" for row in rows], ""]

    lines = [f"# Nightly validation of {frames.day}", "", headline(frames), "",
             "## Models", "", *md(_MODEL_HEADER, model_rows(frames)),
             "## Runs", "", *md([*_RUN_HEADER, "verdict"],
                                [[*_who(run), _verdict(run)] for _, run in
                                 frames.runs.iterrows()])]
    for _, run in frames.compared.iterrows():
        models = frames.models(run["comparison_id"])
        lines += [f"### {' / '.join(_who(run)[:4])}: {_verdict(run)}", "",
                  f"Run {run['run_id']}, {iso(run['start_ms'])} to {iso(run['end_ms'])}.", "",
                  verdict_table(models), ""]
        diverged = [m for m in models if m["divergence"] is not None]
        if diverged:
            fills = frames.divergent_fills(run["comparison_id"])
            lines += [f"{DIVERGENCE}: the live engine decided differently from the replay:",
                      *[f"- {m['model']} ({fills.get(m['model'], 0)} fills): "
                        f"{divergence_text(m['divergence'])}" for m in diverged], ""]
    lines += ["## Unmatched and far-off fills by reason", "",
              *md(["model", *REASONS], reason_rows(frames)),
              "## QUEUE calibrations", "", *md(_CALIBRATION_HEADER, calibration_rows(frames))]
    return "\n".join(lines)


def render_html(frames: NightlyFrames, page_dir: Path) -> str:
    """The page; links to each run's comparison report are relative to ``page_dir``."""
    plots = embed([charts.verdict_chart(frames.runs, frames.results),
                   charts.match_and_pnl_chart(frames.results),
                   charts.reasons_chart(frames.reasons),
                   charts.calibration_chart(frames.calibrations)])
    title = f"Nightly validation of {frames.day}"
    body = [f"<h1>{escape(title)}</h1>", f"<p>{escape(headline(frames))}</p>",
            "<h2>Verdicts per run and model</h2>", plots[0], _runs_table(frames, page_dir),
            "<h2>Runs</h2>", *[_run_section(frames, run) for _, run in frames.runs.iterrows()],
            "<h2>Trade count match and PnL delta</h2>", plots[1],
            table(_MODEL_HEADER, model_rows(frames)),
            "<h2>Reasons of unmatched and far-off fills</h2>", plots[2],
            table(["model", *REASONS], reason_rows(frames)),
            "<h2>QUEUE calibrations</h2>", plots[3],
            table(_CALIBRATION_HEADER, calibration_rows(frames))]
    return page(title, body)


def _run_section(frames: NightlyFrames, run: pd.Series) -> str:
    """One run: who and what, its metric table, its engine divergence."""
    who = " / ".join(_who(run)[:4])
    head = (f'<h3 id="run-{escape(str(run["run_id"]))}" class="run">{escape(who)}: '
            f"{escape(_verdict(run))}</h3>")
    if pd.isna(run["comparison_id"]):
        return (f'<section class="run">{head}<p>Run {escape(str(run["run_id"]))}: not '
                "compared (nothing to replay, or its comparison failed: see "
                "<code>daily_comparisons</code> in Dagster).</p></section>")
    models = frames.models(run["comparison_id"])
    parts = [head, f"<p>Run {escape(str(run['run_id']))}, window {iso(run['start_ms'])} to "
             f"{iso(run['end_ms'])}.</p>",
             metric_table(models, [["PnL (USDT)", f"live {models[0]['live_pnl']}" if models
                                    else "", *[str(m["pnl"]) for m in models]]])]
    diverged = [m for m in models if m["divergence"] is not None]
    if diverged:
        fills = frames.divergent_fills(run["comparison_id"])
        counts = ", ".join(f"{m['model']} {fills.get(m['model'], 0)}" for m in diverged)
        parts += [f'<h4 class="divergence">{DIVERGENCE}</h4>',
                  f"<p>The live engine decided differently from the replay of "
                  f"{len(diverged)} model(s); unmatched fills explained by {DIVERGENCE}: "
                  f"{escape(counts)}. First differing decision:</p>",
                  *[divergence_section(m) for m in diverged]]
    return '<section class="run">' + "\n".join(parts) + "</section>"


def _runs_table(frames: NightlyFrames, page_dir: Path) -> str:
    found = verdicts(frames.results)
    rows, classes = [], []
    for _, run in frames.runs.iterrows():
        compared = pd.notna(run["comparison_id"])
        cells = [VERDICT[found[(run["comparison_id"], m)]]
                 if (run["comparison_id"], m) in found else "" for m in MODELS]
        window = f"{iso(run['start_ms'])} to {iso(run['end_ms'])}" if compared else \
            "not compared"
        rows.append([*_who(run), window, *cells, _link(run, page_dir)])
        classes.append("" if not compared else VERDICT[bool(run["passed"])])
    return table([*_RUN_HEADER, "window", *MODELS, "report"], rows, classes)


def _link(run: pd.Series, page_dir: Path) -> str:
    if not isinstance(run["report_dir"], str):
        return ""
    target = os.path.relpath(Path(run["report_dir"]) / "comparison.html", page_dir)
    return Html(f'<a href="{escape(target)}">comparison</a>')
