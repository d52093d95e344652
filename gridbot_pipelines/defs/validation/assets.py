"""The validation group: live runs compared with their replays, QUEUE calibrated, and the
nightly report across users (docs/pipelines.md, "The validation group").

* ``live_run_comparison`` (a ``live_runs`` partition per run): the whole run against a
  seeded replay per fill model, reports in ``$GRIDBOT_HOME/reports/<run>/pipeline/``;
  requested by ``ended_run_sensor`` when the run ends, or from the UI for any run.
* ``daily_comparisons``, ``queue_calibrations``, ``nightly_validation_report`` (per day,
  tagged nightly, so they join ``validation_job`` after the replays): every live or shadow
  run of the day compared over its part of the day (reports in
  ``$GRIDBOT_HOME/reports/<run>/nightly-<day>/``); QUEUE calibrated per user and symbol;
  one page across users in ``$GRIDBOT_HOME/reports/nightly/<day>.html`` (and ``.md``).

What to compare and how is :mod:`daemons.validation` (``check``, ``nightly``,
``nightly_report``); these assets say where reports go and what the UI shows. Every
comparison is stored with origin ``pipeline``, in its run owner's unit of work.

(No ``from __future__ import annotations`` here: Dagster resolves config classes from the
live annotations.)
"""

from pathlib import Path
from uuid import UUID

import dagster as dg

from daemons.db.settings import gridbot_home
from daemons.validation import nightly
from daemons.validation.check import ALL_MODELS, CheckResult, check_models, run_comparison
from daemons.validation.nightly_report import headline, render_html, render_markdown
from daemons.validation.report_json import document
from daemons.validation.report_md import VERDICT, iso, verdict_table
from gridbot_pipelines.constants import NIGHTLY, VALIDATION
from gridbot_pipelines.defs.validation.results import nightly_frames
from gridbot_pipelines.partitions import DAILY, LIVE_RUNS, day_window_ms
from gridbot_pipelines.resources import DatabaseResource

#: A run's comparison reads the captured market and the reconciled account of whichever
#: days it spans: lineage to every day (Dagster has no run-to-days mapping).
_EVERY_DAY = dg.AllPartitionMapping()
ORIGIN = "pipeline"


class ComparisonConfig(dg.Config):
    """The fill models each run is replayed with (launchpad; default all four)."""

    fill_models: list[str] = [m.lower() for m in ALL_MODELS]


def reports_root() -> Path:
    """Where every report of the pipeline goes: ``$GRIDBOT_HOME/reports``."""
    return gridbot_home() / "reports"


@dg.asset(group_name=VALIDATION, partitions_def=LIVE_RUNS, kinds={"postgres", "html"},
          deps=[dg.AssetDep("captured_market_data", partition_mapping=_EVERY_DAY),
                dg.AssetDep("reconciled_account_data", partition_mapping=_EVERY_DAY)])
def live_run_comparison(context: dg.AssetExecutionContext, config: ComparisonConfig,
                        database: DatabaseResource) -> dg.MaterializeResult:
    """One live or shadow run against a seeded replay per fill model, over the whole run
    (one with nothing to replay is skipped, with the reason, as the nightly skips it)."""
    run_id = UUID(context.partition_key)
    try:
        result = run_comparison(database.db, run_id, check_models(config.fill_models),
                                out_dir=reports_root() / str(run_id) / ORIGIN, origin=ORIGIN)
    except nightly.NOTHING_TO_REPLAY as e:
        context.log.info(f"run {run_id}: skipped ({e})")
        return dg.MaterializeResult(metadata={"skipped": str(e)[:300]})
    verdicts = {m.model: VERDICT[m.passed] for m in result.comparison.models}
    context.log.info(f"run {run_id}: {verdicts}")
    return dg.MaterializeResult(metadata={
        **{f"verdict_{model.lower()}": verdict for model, verdict in verdicts.items()},
        "passed": result.passed,
        "verdicts": dg.MetadataValue.md(verdict_table(document(result.comparison)["models"])),
        **_window(result), **_report_links(result.reports["html"]),
    })


@dg.asset(group_name=VALIDATION, partitions_def=DAILY, tags=NIGHTLY, kinds={"postgres", "html"},
          deps=["daily_backtests", "reconciled_account_data"])
def daily_comparisons(context: dg.AssetExecutionContext, config: ComparisonConfig,
                      database: DatabaseResource) -> dg.MaterializeResult:
    """Every live or shadow run active during the day, compared over its part of the day."""
    day = context.partition_key
    models = check_models(config.fill_models)
    found = nightly.day_runs(database.db, *day_window_ms(day))
    done = nightly.compare_day(database.db, day, found, reports_root(), models)
    table = ["| run | type | symbol | window | " + " | ".join(models) + " |",
             "|---|---|---|---|" + "---|" * len(models)]
    for item in done:
        if isinstance(item.result, CheckResult):
            window = _window(item.result)
            cells = [VERDICT[m.passed] for m in item.result.comparison.models]
            table.append(f"| {_run(item)} | {window['window_start']} to "
                         f"{window['window_end']} | " + " | ".join(cells) + " |")
    compared = [d.result for d in done if isinstance(d.result, CheckResult)]
    return _finish(context, done, "compared", {
        "runs": len(found), "compared": len(compared),
        "passed": sum(1 for r in compared if r.passed),
        "comparisons": dg.MetadataValue.md("\n".join(table)),
    })


@dg.asset(group_name=VALIDATION, partitions_def=DAILY, tags=NIGHTLY, kinds={"postgres"},
          deps=["daily_comparisons"])
def queue_calibrations(context: dg.AssetExecutionContext,
                       database: DatabaseResource) -> dg.MaterializeResult:
    """QUEUE's queue size fitted per user and symbol on its longest live run of the day
    (after the day's comparisons, which ran with the calibration in force that day)."""
    found = nightly.day_runs(database.db, *day_window_ms(context.partition_key))
    done = nightly.calibrate_day(database.db, found)
    table = ["| run | type | symbol | queue ahead | latency ms | in sample: match, PnL delta "
             "| out of sample: match, PnL delta |", "|---|---|---|---|---|---|---|"]
    for item in done:
        c = item.result
        if c is not None:
            table.append(f"| {_run(item)} | {c.queue_ahead:g} | {c.latency_ms} | "
                         f"{c.in_sample.match:.3f}, {c.in_sample.pnl_delta:.4f} | "
                         f"{c.out_of_sample.match:.3f}, {c.out_of_sample.pnl_delta:.4f} |")
    return _finish(context, done, "calibrated", {
        "calibrated": sum(d.result is not None for d in done),
        "calibrations": dg.MetadataValue.md("\n".join(table)),
    })


@dg.asset(group_name=VALIDATION, partitions_def=DAILY, tags=NIGHTLY, kinds={"html"},
          deps=["daily_comparisons", "queue_calibrations"])
def nightly_validation_report(context: dg.AssetExecutionContext,
                              database: DatabaseResource) -> dg.MaterializeResult:
    """The day's validation across users: one HTML page with charts, a Markdown summary."""
    day = context.partition_key
    with database.admin_frames() as conn:  # every user's results: an operator's report
        frames = nightly_frames(conn, day)
    folder = reports_root() / "nightly"
    folder.mkdir(parents=True, exist_ok=True)
    page, summary = folder / f"{day}.html", folder / f"{day}.md"
    markdown = render_markdown(frames)
    page.write_text(render_html(frames, folder), encoding="utf-8")
    summary.write_text(markdown, encoding="utf-8")
    context.log.info(headline(frames))
    return dg.MaterializeResult(metadata={
        "runs": len(frames.runs), "compared": len(frames.compared),
        "calibrations": len(frames.calibrations), "summary": dg.MetadataValue.md(markdown),
        "markdown_path": dg.MetadataValue.path(str(summary)), **_report_links(page),
    })


def _run(item: nightly.Done) -> str:
    run = item.day_run.run
    return f"{run.run_id} | {run.run_type} | {item.day_run.symbol}"


def _window(result: CheckResult) -> dict[str, str]:
    inp = result.comparison.input
    return {"window_start": iso(inp.start_ms), "window_end": iso(inp.end_ms),
            "comparison_id": str(result.comparison_id)}


def _report_links(html: Path) -> dict[str, dg.MetadataValue]:
    """The HTML page's path, and a file:// URL to open it from the UI."""
    return {"report_path": dg.MetadataValue.path(str(html)),
            "report_url": dg.MetadataValue.url(html.resolve().as_uri())}


def _finish(context: dg.AssetExecutionContext, done: list[nightly.Done], verb: str,
            metadata: dict) -> dg.MaterializeResult:
    """Skipped runs in the metadata; runs that failed fail the step after the others."""
    skipped = {str(d.day_run.run.run_id): d.skipped for d in done if d.skipped is not None}
    failed = {str(d.day_run.run.run_id): d.failed for d in done if d.failed is not None}
    context.log.info(f"{sum(d.result is not None for d in done)} {verb}, {len(skipped)} "
                     f"skipped, {len(failed)} failed")
    metadata = {**metadata, "skipped": dg.MetadataValue.json(skipped),
                "failed": dg.MetadataValue.json(failed)}
    if failed:
        raise dg.Failure(description=f"{len(failed)} run(s) failed: {', '.join(failed)}",
                         metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)
