"""`gridbot dagster` for real: the UI in headless Chromium, a run launched through its
GraphQL API, and SIGTERM stopping every process it started.

One `gridbot dagster` serves the module (starting it takes a while): the UI tests run
first, the SIGTERM test last (file order, one xdist group). Screenshots go to
``test-artifacts/dagster/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest

from daemons.dagster_env import DAGSTER_DATABASE, PG_URL_ENV, with_database
from daemons.db.session import Database
from tests.daemons.validation.browser import dom_and_screenshot, ensure_chromium
from tests.fixtures.leak_guard import scan_output
from tests.fixtures.ports import free_port
from tests.fixtures.postgres import PgTestServer
from tests.fixtures.waiting import wait_until
from tests.gridbot_pipelines.data import add_run, store_market_day

pytestmark = [pytest.mark.timeout(900), pytest.mark.xdist_group("dagster_ui")]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dagster"
DAY = "2026-09-14"
ASSETS = ("captured_market_data", "reconciled_account_data", "daily_backtests",
          "strategy_backtests", "bundled_month_replay", "event_table_partitions",
          "live_run_comparison", "daily_comparisons", "queue_calibrations",
          "nightly_validation_report")
GROUPS = ("market_data", "accounts", "backtests", "maintenance", "validation")
NIGHTLY = ("daily_comparisons", "queue_calibrations", "nightly_validation_report")


@dataclass
class DagsterUi:
    process: subprocess.Popen
    url: str
    output: Path
    started: list[psutil.Process] = field(default_factory=list)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            found = json.loads(answer.read())
        assert "errors" not in found, found
        return found["data"]


_LOCATIONS = ("{ workspaceOrError { ... on Workspace { locationEntries { name "
              "locationOrLoadError { __typename } } } } }")


def _location_loaded(ui: DagsterUi) -> bool:
    """Whether the webserver answers with the code location `gridbot` loaded."""
    assert ui.process.poll() is None, ui.output.read_text()[-3000:]
    try:
        entries = ui.graphql(_LOCATIONS)["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    return [(e["name"], (e["locationOrLoadError"] or {}).get("__typename"))
            for e in entries] == [("gridbot", "RepositoryLocation")]


@contextmanager
def _dagster(command: list[str], env: dict[str, str], output: Path) -> Iterator[DagsterUi]:
    """``command`` (given ``{port}``) serving the UI until the location `gridbot` loads;
    afterwards whatever of it is still alive is killed and its output scanned."""
    port = free_port()
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [part.format(port=port) for part in command], cwd=ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True)
    running = DagsterUi(process, f"http://127.0.0.1:{port}", output)
    try:
        wait_until(lambda: _location_loaded(running), 240, "the gridbot code location")
        running.started = psutil.Process(process.pid).children(recursive=True)
        yield running
    finally:
        if process.poll() is None:  # not stopped by the test
            process.kill()
        for started in running.started:  # whatever it left behind
            try:
                started.kill()
            except psutil.NoSuchProcess:
                pass
        process.wait()
        scan_output(output.read_bytes(), " ".join(command[:3]))


@pytest.fixture(scope="module")
def database(pg_server: PgTestServer) -> Iterator[dict[str, str]]:
    """A captured day and a strategy; the environment that points gridbot at them."""
    name = pg_server.create_database()
    db = Database(pg_server.admin_url(name), pg_server.app_url(name))
    store_market_day(db, "BTCUSDT", DAY, seed=4)
    start = datetime.fromisoformat(f"{DAY}T02:00:00+00:00")  # ursula's strategy, and a run
    add_run(db, "ursula", start, start + timedelta(minutes=1))  # stopped at once
    db.close()
    home = Path(tempfile.mkdtemp(prefix="gridbot-ui-"))
    yield {**{k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", PG_URL_ENV)},
           "DATABASE_URL": pg_server.admin_url(name),
           "GRIDBOT_APP_DATABASE_URL": pg_server.app_url(name), "GRIDBOT_HOME": str(home)}
    shutil.rmtree(home, ignore_errors=True)
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def ui(database: dict[str, str]) -> Iterator[DagsterUi]:
    home = Path(database["GRIDBOT_HOME"])
    with _dagster([sys.executable, "-c", "from daemons.cli.main import app; app()", "dagster",
                   "--port", "{port}", "--dagster-home", str(home / "dagster")],
                  database, home / "gridbot-dagster.out") as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> str:
    return ensure_chromium()


def _page(chromium: str, url: str, shot: str, **options: object) -> str:
    """The rendered DOM of ``url``, and a screenshot of it in test-artifacts."""
    return dom_and_screenshot(chromium, url, ARTIFACTS / shot, **options)


def test_ui_asset_graph_shows_the_projects_assets(ui: DagsterUi, chromium: str) -> None:
    shown: set[str] = set()
    for group in GROUPS:  # each group's lineage graph, its neighbours included
        dom = _page(chromium, f"{ui.url}/locations/gridbot/asset-groups/{group}",
                    f"asset-graph-{group}.png", size="2400,1400")
        assert group in dom
        shown |= {name for name in ASSETS if name in dom}
    assert shown == set(ASSETS), f"missing from the asset graph: {set(ASSETS) - shown}"


_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
_STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
_MATERIALISED = """
query Latest($day: String!) {
  assetNodeOrError(assetKey: {path: ["captured_market_data"]}) {
    ... on AssetNode { assetMaterializations(partitions: [$day]) {
      runId metadataEntries { label ... on IntMetadataEntry { intValue } } } }
  }
}"""


def _materialise_day(ui: DagsterUi, assets: tuple[str, ...] = ("captured_market_data",)) -> str:
    """Launch ``assets`` of DAY through GraphQL; the run's id once it ended."""
    launched = ui.graphql(_LAUNCH, {"params": {
        "selector": {"repositoryLocationName": "gridbot", "repositoryName": "__repository__",
                     "jobName": "validation_job",
                     "assetSelection": [{"path": [name]} for name in assets]},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY}]},
    }})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline, status = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        status = ui.graphql(_STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    assert status == "SUCCESS", ui.output.read_text()[-3000:]
    return run_id


def test_ui_graphql_launched_materialisation_completes(ui: DagsterUi, chromium: str) -> None:
    run_id = _materialise_day(ui)
    found = ui.graphql(_MATERIALISED, {"day": DAY})["assetNodeOrError"]
    (latest,) = [m for m in found["assetMaterializations"] if m["runId"] == run_id]
    entries = {e["label"]: e.get("intValue") for e in latest["metadataEntries"]}
    assert entries["public_trades_rows"] == 3_000
    dom = _page(chromium, f"{ui.url}/runs/{run_id}", "run.png")
    assert re.search(r"captured_market_data", dom)


_REPORT = """
query Report($day: String!) {
  assetNodeOrError(assetKey: {path: ["nightly_validation_report"]}) {
    ... on AssetNode { assetMaterializations(partitions: [$day]) {
      runId metadataEntries { label ... on UrlMetadataEntry { url }
        ... on PathMetadataEntry { path } ... on MarkdownMetadataEntry { mdStr } } } }
  }
}"""


def test_ui_nightly_report_opens_from_its_assets_metadata_with_charts(
        ui: DagsterUi, database: dict[str, str], chromium: str) -> None:
    """The nightly steps of DAY launched through the UI's API: the report's page is where
    the asset's metadata says, its charts draw in Chromium, the UI shows the metadata."""
    run_id = _materialise_day(ui, NIGHTLY)
    found = ui.graphql(_REPORT, {"day": DAY})["assetNodeOrError"]
    (latest,) = [m for m in found["assetMaterializations"] if m["runId"] == run_id]
    entries = {e["label"]: e for e in latest["metadataEntries"]}
    page = Path(database["GRIDBOT_HOME"]) / "reports" / "nightly" / f"{DAY}.html"
    assert entries["report_path"]["path"] == str(page)
    assert entries["report_url"]["url"] == page.resolve().as_uri()
    assert f"# Nightly validation of {DAY}" in entries["summary"]["mdStr"]
    dom = _page(chromium, entries["report_url"]["url"], "nightly-report.png",
                size="1400,2400")
    assert dom.count('class="main-svg"') >= 8  # plotly: two SVG layers for each chart
    assert dom.count("js-plotly-plot") >= 4 and 'class="barlayer' in dom
    assert "ursula / main / BTCUSDT / live: not compared" in dom  # its run: nothing to replay
    asset_page = _page(chromium, f"{ui.url}/assets/nightly_validation_report?partition={DAY}",
                       "nightly-report-asset.png")
    assert "nightly_validation_report" in asset_page


_COMPARED = """
query Compared {
  assetNodeOrError(assetKey: {path: ["live_run_comparison"]}) {
    ... on AssetNode { assetMaterializations {
      partition metadataEntries { label ... on TextMetadataEntry { text } } } }
  }
}"""


def test_ui_ended_run_sensor_has_the_daemon_compare_the_ended_run(
        ui: DagsterUi, database: dict[str, str]) -> None:
    """The Dagster daemon of `gridbot dagster` evaluates ``ended_run_sensor``: ursula's
    ended run gets its ``live_run_comparison`` (skipped, with the reason: it stopped before
    its engine saw the market)."""
    with psycopg.connect(database["DATABASE_URL"]) as conn:
        (run_id,) = conn.execute("SELECT run_id::text FROM runs WHERE run_type = 'live'"
                                 ).fetchone()

    def compared() -> list[dict]:
        found = ui.graphql(_COMPARED)["assetNodeOrError"]["assetMaterializations"]
        return [m for m in found if m["partition"] == run_id]

    (materialised, *_) = wait_until(compared, 240, "the ended run's comparison")
    entries = {e["label"]: e.get("text") for e in materialised["metadataEntries"]}
    assert "snapshot" in entries["skipped"]


def test_plain_dagster_dev_stores_runs_in_gridbots_database(
        database: dict[str, str]) -> None:
    """`dagster dev` from the repository root, no DAGSTER_HOME, no storage URL: the code
    location `gridbot`, runs stored in the `dagster` database beside gridbot's tables."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    output = Path(database["GRIDBOT_HOME"]) / "dagster-dev.out"
    with _dagster([dagster, "dev", "-p", "{port}"], database, output) as plain:
        run_id = _materialise_day(plain)
        plain.process.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
        plain.process.wait(timeout=120)
    storage = with_database(database["DATABASE_URL"], DAGSTER_DATABASE)
    with psycopg.connect(storage) as conn:
        assert conn.execute("SELECT status FROM runs WHERE run_id = %s",
                            [run_id]).fetchone() == ("SUCCESS",)
    assert not list(ROOT.glob(".tmp_dagster_home_*"))  # its temporary home is gone


def test_gridbot_dagster_sigterm_stops_every_process_it_started(ui: DagsterUi) -> None:
    started = ui.started
    commands = [" ".join(p.cmdline()) for p in started]
    assert any("dagster_webserver" in c for c in commands), commands
    assert any("dagster._daemon" in c for c in commands), commands
    ui.process.send_signal(signal.SIGTERM)  # to gridbot dagster alone, as `kill` does
    assert ui.process.wait(timeout=120) == 0 or ui.process.returncode is not None
    deadline = time.monotonic() + 30
    alive = started
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.2)
    assert alive == [], f"still running after SIGTERM: {[p.cmdline() for p in alive]}"
