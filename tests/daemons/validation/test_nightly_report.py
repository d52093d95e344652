"""The nightly report's rendering on its own frames: a day with nothing compared still makes
a page and a summary, and what users named is shown as text, never as markup."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pandas as pd

from daemons.validation.nightly_report import NightlyFrames, render_html, render_markdown

DAY = "2026-10-01"


def _frames(runs: list[dict]) -> NightlyFrames:
    columns = {
        "runs": ["run_id", "username", "account_name", "run_type", "symbol", "comparison_id",
                 "start_ms", "end_ms", "passed", "report_dir"],
        "results": ["comparison_id", "fill_model", "passed", "metrics", "divergence",
                    "live_pnl", "pnl", "pairs", "missed", "phantom", "match", "pnl_delta"],
        "reasons": ["comparison_id", "fill_model", "reason", "fills"],
        "calibrations": ["username", "symbol", "run_id", "queue_ahead", "latency_ms",
                         "in_match", "in_pnl_delta", "out_match", "out_pnl_delta"]}
    empty = {name: pd.DataFrame(columns=cols) for name, cols in columns.items()}
    return NightlyFrames(DAY, pd.DataFrame(runs, columns=columns["runs"]), empty["results"],
                         empty["reasons"], empty["calibrations"])


def test_nightly_report_day_without_runs_renders_page_and_summary(tmp_path: Path) -> None:
    frames = _frames([])
    page = render_html(frames, tmp_path)
    assert f"Nightly validation of {DAY}" in page and page.count('class="chart"') == 4
    summary = render_markdown(frames)
    assert summary.startswith(f"# Nightly validation of {DAY}")
    assert "0 of 0 live or shadow runs" in summary


def test_nightly_report_shows_names_as_text_not_markup(tmp_path: Path) -> None:
    run = {"run_id": uuid4(), "username": "<script>alert(1)</script>",
           "account_name": "<b>main</b>", "run_type": "live", "symbol": "BTCUSDT",
           "comparison_id": None, "start_ms": None, "end_ms": None, "passed": None,
           "report_dir": None}
    page = render_html(_frames([run]), tmp_path)
    assert "<script>alert(1)</script>" not in page and "<b>main</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; / &lt;b&gt;main&lt;/b&gt;" in page
    assert "not compared" in page
