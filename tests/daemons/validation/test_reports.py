"""The three reports of a comparison, and the HTML page rendered by a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from daemons.validation.compare import compare_run
from daemons.validation.inputs import CaptureGap
from daemons.validation.parity import check_parity
from daemons.validation.report_files import write_reports
from tests.daemons.validation.browser import ensure_chromium, run_chromium
from tests.daemons.validation.scenario import comparison_input
from tests.daemons.validation.test_parity import venue_reports

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "reports"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    inp = comparison_input(gaps=[CaptureGap(1704100000000, 1704100060000, "tickers", "drop")])
    return write_reports(compare_run(inp), tmp_path_factory.mktemp("report"),
                         parity=check_parity(venue_reports()))


@pytest.fixture(scope="session")
def chromium() -> str:
    return ensure_chromium()


def test_report_json_holds_every_model_metric_and_reason(written: dict[str, Path]) -> None:
    doc = json.loads(written["json"].read_text())
    assert [m["model"] for m in doc["models"]] == ["OPTIMISTIC", "CONSERVATIVE", "PESSIMISTIC",
                                                   "QUEUE"]
    names = [m["name"] for m in doc["models"][0]["metrics"]]
    assert names == ["trade count match", "fill count ratio", "price slippage", "timing drift",
                     "PnL delta", "missed trades", "phantom trades"]
    pessimistic = doc["models"][2]
    assert pessimistic["missed"] == sum(u["kind"] == "missed" for u in pessimistic["unmatched"])
    assert {u["reason"] for m in doc["models"] for u in m["unmatched"]} <= {
        "queue", "latency", "data gap", "engine divergence"}
    assert doc["verdicts"] == {m["model"]: m["passed"] for m in doc["models"]}
    assert doc["parity"]["ok"] and len(doc["equity"]["ts"]) == len(doc["equity"]["live"])


def test_report_markdown_tabulates_verdicts_per_model(written: dict[str, Path]) -> None:
    text = written["md"].read_text()
    assert "| metric | target | OPTIMISTIC | CONSERVATIVE | PESSIMISTIC | QUEUE |" in text
    assert re.search(r"\| \*\*overall\*\* \| every target( \| \*\*(pass|FAIL)\*\*){4} \|", text)
    assert "First diverging decision" in text and "agree with the exchange" in text


def test_report_html_needs_no_network(written: dict[str, Path]) -> None:
    page = written["html"].read_text()
    assert page.count("<script") >= 5  # plotly.js once, then one per chart
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched: plotly is inlined
    assert "cdn" not in " ".join(re.findall(r"<script[^>]*>", page)).lower()


def test_report_html_charts_render_in_headless_chromium(
    written: dict[str, Path], chromium: str, tmp_path: Path,
) -> None:
    url = written["html"].resolve().as_uri()
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", url).stdout
    # plotly draws each chart into two SVG layers of class main-svg, and marks the div
    assert dom.count('class="main-svg"') >= 8
    for n in range(4):
        assert re.search(rf'id="chart-{n}"[^>]*class="[^"]*js-plotly-plot', dom) or (
            re.search(rf'class="[^"]*js-plotly-plot[^"]*"[^>]*id="chart-{n}"', dom))
    assert dom.count('class="scatterlayer') >= 3 and 'class="barlayer' in dom
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "comparison.png"
    shot.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path / "profile2", "--window-size=1400,2600",
                 f"--screenshot={shot}", url)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few KB
