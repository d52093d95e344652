"""The validation group on real live runs: a session on the local venue (the trading and
capture daemons over real sockets, ``tests/daemons/validation/session.py``: three live runs
and a shadow run, each its own user), trader3's stored engine parameters changed after the
fact (another grid step than it traded with), and a live run with nothing to replay. The
nightly assets of that day are materialised once for the module, on the embedded database,
as ``validation_job`` runs them."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import dagster as dg
import pytest

from daemons.db.session import Database
from daemons.secrets.keys import load_keyring
from daemons.validation import nightly
from gridbot_pipelines.defs.validation.assets import (
    daily_comparisons,
    live_run_comparison,
    nightly_validation_report,
    queue_calibrations,
)
from gridbot_pipelines.partitions import LIVE_RUNS
from gridbot_pipelines.resources import DatabaseResource
from tests.daemons.validation.browser import dom_and_screenshot, ensure_chromium
from tests.daemons.validation.session import Session, assume_grid_step, record_session
from tests.gridbot_pipelines.data import add_run

pytestmark = [pytest.mark.timeout(900), pytest.mark.xdist_group("validation-session")]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dagster"
MODELS = ["CONSERVATIVE", "OPTIMISTIC", "PESSIMISTIC", "QUEUE"]
METRICS = ("trade count match", "price slippage", "timing drift", "PnL delta",
           "missed trades")


@dataclass(frozen=True)
class Night:
    db: Database
    session: Session
    day: str
    empty_run: UUID
    result: dg.ExecuteInProcessResult
    home: Path

    def metadata(self, asset: str) -> dict:
        (found,) = self.result.asset_materializations_for_node(asset)
        return {key: value.value for key, value in found.metadata.items()}

    @property
    def page(self) -> Path:
        return self.home / "reports" / "nightly" / f"{self.day}.html"


@pytest.fixture(scope="module")
def night(pipeline_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    db = pipeline_db
    home = tmp_path_factory.mktemp("night")
    session = record_session(db, load_keyring(home / "keys", create=True), home,
                             db.app_login_url)
    assume_grid_step(db, session.runs["trader3"], 0.03)  # it traded with 0.02 %
    ended = datetime.fromtimestamp(session.end_ms / 1000, UTC)
    empty = add_run(db, "idle", ended, ended + timedelta(seconds=1))  # stopped at once
    day = ended.date().isoformat()
    with dg.instance_for_test() as instance:
        result = dg.materialize([daily_comparisons, queue_calibrations,
                                 nightly_validation_report], partition_key=day,
                                resources={"database": DatabaseResource()}, instance=instance)
    yield Night(db, session, day, empty, result, Path(os.environ["GRIDBOT_HOME"]))


def test_validation_day_runs_cut_each_run_to_its_part_of_the_day(
        pipeline_db: Database) -> None:
    midnight = datetime(2026, 7, 2, tzinfo=UTC)

    def ms(hours: float) -> int:
        return int((midnight + timedelta(hours=hours)).timestamp() * 1000)

    def at(hours: float) -> datetime:
        return midnight + timedelta(hours=hours)

    spans = add_run(pipeline_db, "nia", at(-2), at(3))  # began the day before
    inside = add_run(pipeline_db, "noa", at(5), at(6), kind="shadow")
    running = add_run(pipeline_db, "nel", at(20))  # still running
    made = [spans, inside, running, add_run(pipeline_db, "ned", at(-5), at(-1)),  # over before
            add_run(pipeline_db, "nic", at(25), at(26))]  # the next day's
    try:
        found = {r.run.run_id: r for r in nightly.day_runs(pipeline_db, ms(0), ms(24),
                                                            now_ms=ms(22))}
    finally:  # the running one would be active on every later day of the module's tests
        with pipeline_db.admin() as conn:
            conn.execute("DELETE FROM runs WHERE run_id = ANY(%s)", [made])
    assert set(found) == {spans, inside, running}
    assert (found[spans].start_ms, found[spans].end_ms) == (ms(0), ms(3))
    assert (found[inside].start_ms, found[inside].end_ms) == (None, ms(6))  # first snapshot
    assert (found[running].start_ms, found[running].end_ms) == (None, ms(22))  # until now
    assert found[spans].length_ms == 3 * 3_600_000


def _section(page: str, run_id: UUID) -> str:
    """A run's section of the page, as text."""
    found = re.search(rf'<section class="run"><h3 id="run-{run_id}".*?</section>', page,
                      re.S)
    assert found is not None, f"no section for run {run_id}"
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(0)))


def test_validation_nightly_stores_comparisons_with_origin_pipeline_for_each_owner(
        night: Night) -> None:
    assert night.result.success
    session, db = night.session, night.db
    for name, run_id in session.runs.items():
        owner = session.users[name]
        with db.unit_of_work(owner) as conn:  # as the application role: the owner's rows
            mine = conn.execute(
                "SELECT c.comparison_id, c.user_id, array_agg(r.fill_model ORDER BY"
                " r.fill_model) FROM comparisons c JOIN comparison_results r USING"
                " (comparison_id) WHERE c.run_id = %s AND c.origin = 'pipeline'"
                " GROUP BY 1, 2", [run_id]).fetchall()
        assert len(mine) == 1, (name, mine)
        assert mine[0][1] == owner and mine[0][2] == MODELS  # every model by default
        for other, other_id in session.users.items():
            if other != name:
                with db.unit_of_work(other_id) as conn:
                    assert conn.execute("SELECT count(*) FROM comparisons WHERE run_id = %s",
                                        [run_id]).fetchone()[0] == 0
    with db.admin() as conn:
        owners = conn.execute("SELECT c.user_id = r.user_id FROM comparisons c JOIN runs r"
                              " USING (run_id) WHERE c.origin = 'pipeline'").fetchall()
    assert owners and all(same for (same,) in owners)
    meta = night.metadata("daily_comparisons")
    assert meta["compared"] == 4 and meta["runs"] == 5 and meta["failed"] == {}


def test_validation_nightly_report_names_each_run_its_metrics_targets_and_verdicts(
        night: Night) -> None:
    page = night.page.read_text()
    session, db = night.session, night.db
    for name, run_id in session.runs.items():
        text = _section(page, run_id)
        kind = "shadow" if name == "trader4" else "live"
        assert f"{session.usernames[name]} / {name} / BTCUSDT / {kind}" in text
        with db.unit_of_work(session.users[name]) as conn:
            stored = dict(conn.execute(
                "SELECT r.fill_model, r.passed FROM comparison_results r JOIN comparisons c"
                " USING (comparison_id) WHERE c.run_id = %s", [run_id]).fetchall())
        for metric, target in zip(METRICS, ("> 0.95", "< 2.0", "< 1000", "< 0.05", "< 0.05"),
                                  strict=True):
            assert re.search(rf"{metric}\s+{re.escape(target)}", text), (metric, text[:2000])
        overall = re.search(r"overall\s+every target\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text)
        assert overall is not None
        expected = ["pass" if stored[m] else "FAIL" for m in
                    ("OPTIMISTIC", "CONSERVATIVE", "PESSIMISTIC", "QUEUE")]
        assert list(overall.groups()) == expected
    assert not session.runs.keys() - {"trader1", "trader2", "trader3", "trader4"}
    meta = night.metadata("nightly_validation_report")
    assert meta["report_path"] == str(night.page)
    assert meta["report_url"] == night.page.resolve().as_uri()
    summary = meta["summary"]
    assert summary == (night.page.with_suffix(".md")).read_text()
    assert f"# Nightly validation of {night.day}" in summary
    assert all(str(run_id) in summary for run_id in session.runs.values())
    assert meta["compared"] == 4 and meta["calibrations"] == 3  # a QUEUE fit per live user


def test_validation_nightly_report_names_engine_divergence_with_its_first_decision(
        night: Night) -> None:
    """trader3's snapshots say 0.03 % where its engine traded with 0.02 %: its replays
    decide differently, and the report says so, with the first differing decision; every
    run's section shows a model's first differing decision exactly when one is stored."""
    session, db = night.session, night.db
    page = night.page.read_text()
    for name, run_id in session.runs.items():
        with db.unit_of_work(session.users[name]) as conn:
            divergence = dict(conn.execute(
                "SELECT r.fill_model, r.divergence FROM comparison_results r JOIN comparisons"
                " c USING (comparison_id) WHERE c.run_id = %s", [run_id]))
            explained = conn.execute(
                "SELECT count(*) FROM comparison_fills WHERE reason = 'engine divergence'"
                " AND fill_model = 'CONSERVATIVE'").fetchone()[0]
        text = _section(page, run_id)
        for model, first in divergence.items():
            shown = f"{model}: decision #{first['index']} at" if first else f"{model}: decision #"
            assert (shown in text) == (first is not None), (name, model)
        assert ("engine divergence" in text) == any(divergence.values()), name
        if name == "trader3":
            assert divergence["CONSERVATIVE"] is not None and explained > 0
            assert "The live engine decided differently" in text
            assert f"CONSERVATIVE {explained}" in text  # the fills that reason explains


def test_validation_nightly_run_with_nothing_to_replay_is_skipped_not_failed(
        night: Night) -> None:
    assert night.result.success
    skipped = night.metadata("daily_comparisons")["skipped"]
    assert list(skipped) == [str(night.empty_run)]
    assert "snapshot" in skipped[str(night.empty_run)]
    assert str(night.empty_run) in night.metadata("queue_calibrations")["skipped"]
    text = _section(night.page.read_text(), night.empty_run)
    assert "not compared" in text and "idle / main / BTCUSDT / live" in text


def test_validation_nightly_report_charts_render_in_headless_chromium(night: Night) -> None:
    dom = dom_and_screenshot(ensure_chromium(), night.page.resolve().as_uri(),
                             ARTIFACTS / "nightly-report-runs.png", size="1400,3000",
                             min_bytes=50_000)
    assert dom.count('class="main-svg"') >= 8  # plotly: two SVG layers per chart
    assert 'class="heatmaplayer' in dom and dom.count('class="barlayer') >= 2
    assert 'class="boxlayer' in dom


def _compare_run(run_id: UUID, models: list[str]) -> dict:
    """``live_run_comparison`` of ``run_id`` as the UI launches it; its metadata."""
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(LIVE_RUNS.name, [str(run_id)])
        result = dg.materialize(
            [live_run_comparison], partition_key=str(run_id), instance=instance,
            resources={"database": DatabaseResource()},
            run_config={"ops": {"live_run_comparison": {"config": {"fill_models": models}}}})
    assert result.success
    (found,) = result.asset_materializations_for_node("live_run_comparison")
    return {key: value.value for key, value in found.metadata.items()}


def test_validation_live_run_comparison_of_a_run_with_nothing_to_replay_is_skipped(
        night: Night) -> None:
    meta = _compare_run(night.empty_run, ["queue"])
    assert "snapshot" in meta["skipped"] and "report_path" not in meta


def test_validation_live_run_comparison_materialises_one_run_with_configured_models(
        night: Night) -> None:
    session, db = night.session, night.db
    run_id = session.runs["trader1"]
    meta = _compare_run(run_id, ["conservative"])
    report = night.home / "reports" / str(run_id) / "pipeline" / "comparison.html"
    assert meta["report_path"] == str(report) and report.exists()
    assert meta["report_url"] == report.resolve().as_uri()
    assert set(meta) >= {"verdict_conservative", "passed", "window_start", "window_end"}
    assert "verdict_queue" not in meta
    with db.unit_of_work(session.users["trader1"]) as conn:
        models = conn.execute(
            "SELECT r.fill_model FROM comparison_results r JOIN comparisons c USING"
            " (comparison_id) WHERE c.comparison_id = %s AND c.origin = 'pipeline'",
            [meta["comparison_id"]]).fetchall()
    assert models == [("CONSERVATIVE",)]
