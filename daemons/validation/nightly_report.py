"""The nightly validation report of one UTC day, across users: one self-contained HTML page
with charts (:mod:`.nightly_charts`, page and tables of :mod:`.report_html`) and a Markdown
summary, both made from the stored results as frames (:class:`NightlyFrames`; the
pipeline reads them, ``gridbot_pipelines/defs/validation/results.py``). Pure: no I/O.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd

from daemons.validation import nightly_charts as charts
from daemons.validation.nightly_charts import MODELS, REASONS, run_label
from daemons.validation.report_html import Html, embed, page, table
from daemons.validation.report_md import VERDICT, iso


@dataclass(frozen=True)
class NightlyFrames:
    """A day's stored validation results.

    * ``runs``: every live or shadow run active that day (``run_id``, ``username``,
      ``run_type``, ``symbol``) with its comparison of the day, if any
      (``comparison_id``, ``start_ms``, ``end_ms``, ``passed``, ``report_dir``);
    * ``results``: per comparison and model: ``passed``, ``match`` (trade count match),
      ``pnl_delta``, ``pairs``, ``missed``, ``phantom``;
    * ``reasons``: unmatched and far-off fills per ``fill_model`` and ``reason``: ``fills``;
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
    counts = frames.reasons.pivot_table(index="fill_model", columns="reason", values="fills",
                                        aggfunc="sum", fill_value=0)
    return [[m, *[str(int(counts.at[m, r])) if m in counts.index and r in counts.columns
                  else "0" for r in REASONS]] for m in MODELS]


def calibration_rows(frames: NightlyFrames) -> list[list[str]]:
    return [[r.username, r.symbol, f"{r.queue_ahead:g}", str(r.latency_ms),
             f"{_number(r.in_match)} / {_number(r.out_match)}",
             f"{_number(r.in_pnl_delta)} / {_number(r.out_pnl_delta)}"]
            for r in frames.calibrations.itertuples()]


_MODEL_HEADER = ["model", "runs passed", "trade count match (mean)", "PnL delta (median)",
                 "missed", "phantom"]
_CALIBRATION_HEADER = ["user", "symbol", "queue ahead", "latency ms",
                       "match in / out of sample", "PnL delta in / out of sample"]


def headline(frames: NightlyFrames) -> str:
    compared = frames.compared
    return (f"{len(compared)} of {len(frames.runs)} live or shadow runs active that day "
            f"compared ({frames.runs['username'].nunique()} users); "
            f"{len(frames.runs) - len(compared)} not compared; "
            f"{len(frames.calibrations)} QUEUE calibration(s).")


def render_markdown(frames: NightlyFrames) -> str:
    """The summary: headline, models, reasons, calibrations, runs not compared."""
    def md(header: list[str], rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                *["| " + " | ".join(row) + " |" for row in rows], ""]

    lines = [f"# Nightly validation of {frames.day}", "", headline(frames), "",
             "## Models", "", *md(_MODEL_HEADER, model_rows(frames)),
             "## Unmatched and far-off fills by reason", "",
             *md(["model", *REASONS], reason_rows(frames)),
             "## QUEUE calibrations", "", *md(_CALIBRATION_HEADER, calibration_rows(frames))]
    missing = frames.runs[frames.runs["comparison_id"].isna()]
    if len(missing):
        lines += ["## Not compared", "", *[f"- {run_label(r)}" for _, r in missing.iterrows()],
                  ""]
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
            "<h2>Trade count match and PnL delta</h2>", plots[1],
            table(_MODEL_HEADER, model_rows(frames)),
            "<h2>Reasons of unmatched and far-off fills</h2>", plots[2],
            table(["model", *REASONS], reason_rows(frames)),
            "<h2>QUEUE calibrations</h2>", plots[3],
            table(_CALIBRATION_HEADER, calibration_rows(frames))]
    return page(title, body)


def _runs_table(frames: NightlyFrames, page_dir: Path) -> str:
    verdicts = frames.results.set_index(["comparison_id", "fill_model"])["passed"]
    rows, classes = [], []
    for _, run in frames.runs.iterrows():
        compared = pd.notna(run["comparison_id"])
        cells = [VERDICT[bool(verdicts[(run["comparison_id"], m)])]
                 if compared and (run["comparison_id"], m) in verdicts.index else ""
                 for m in MODELS]
        window = f"{iso(run['start_ms'])} to {iso(run['end_ms'])}" if compared else \
            "not compared"
        rows.append([run["username"], str(run["run_id"]), run["run_type"], run["symbol"],
                     window, *cells, _link(run, page_dir)])
        classes.append("" if not compared else VERDICT[bool(run["passed"])])
    return table(["user", "run", "type", "symbol", "window", *MODELS, "report"], rows, classes)


def _link(run: pd.Series, page_dir: Path) -> str:
    if not isinstance(run["report_dir"], str):
        return ""
    target = os.path.relpath(Path(run["report_dir"]) / "comparison.html", page_dir)
    return Html(f'<a href="{escape(target)}">comparison</a>')
