"""great-expectations 1.x on pandas frames, as Dagster asset check results.

GX 1.x has no maintained Dagster integration (``dagster-ge`` pins GX < 1), so each check
runs GX itself: an ephemeral context, a pandas data source, a dataframe asset, a suite
of expectations and a validation definition, then turns the validation result into a
:class:`dagster.AssetCheckResult` whose metadata names every expectation, whether it
held, how many rows broke it and a few of them. GX is imported on first use (about two
seconds), and its progress bars are off: they would fill Dagster's logs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
import pandas as pd

#: Rows shown per failed expectation (the metadata stays small on a very bad day).
EXAMPLES = 5


def validate(frame: pd.DataFrame, name: str,
             expectations: Callable[[Any], Sequence[Any]]) -> dg.AssetCheckResult:
    """Run ``expectations(gxe)`` (``gxe`` is ``great_expectations.expectations``) on
    ``frame``; the check passes when every expectation holds."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False), analytics_enabled=False))
    batch = context.data_sources.add_pandas(name).add_dataframe_asset(
        name).add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations(gxe):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name=name))
    outcome = definition.run(batch_parameters={"dataframe": frame})
    rows = [_row(result) for result in outcome.results]
    failed = [row["expectation"] for row in rows if not row["success"]]
    return dg.AssetCheckResult(
        passed=bool(outcome.success),
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if not failed else f"failed: {', '.join(failed)}",
        metadata={"rows": len(frame), "failed": len(failed),
                  "expectations": dg.MetadataValue.md(_table(rows)),
                  "results": dg.MetadataValue.json(rows)})


def inside(gxe: Any, column: str, start: int, end: int) -> Any:
    """``start <= column < end`` (a UTC day's milliseconds)."""
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=start, max_value=end,
                                             strict_max=True)


def positive(gxe: Any, *columns: str) -> list[Any]:
    """Every value of each column ``> 0`` (prices, sizes)."""
    return [gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=True)
            for column in columns]


def _row(result: Any) -> dict[str, Any]:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    found = result.result or {}
    return {
        "expectation": config.type,
        "on": kwargs.get("column") or kwargs.get("column_list"),
        "success": bool(result.success),
        "unexpected": found.get("unexpected_count", 0) or 0,
        "examples": [_plain(v) for v in (found.get("partial_unexpected_list") or [])[
            :EXAMPLES]],
    }


def _plain(value: Any) -> Any:
    """A JSON-safe example: GX hands back numpy scalars and dicts of them, and frames hold
    UUIDs (account ids) and timestamps, shown as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):
        value = value.item()
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| expectation | on | held | unexpected rows |", "|---|---|---|---|"]
    lines += [f"| {r['expectation']} | {r['on']} | {'yes' if r['success'] else 'NO'} | "
              f"{r['unexpected']} |" for r in rows]
    return "\n".join(lines)
