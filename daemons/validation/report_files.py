"""Writing a comparison's three reports into a directory (the only I/O of the package)."""

from __future__ import annotations

from pathlib import Path

from daemons.validation import report_html, report_json, report_md
from daemons.validation.compare import Comparison
from daemons.validation.parity import Parity


def write_reports(comparison: Comparison, directory: Path, *, parity: Parity | None = None,
                  stem: str = "comparison") -> dict[str, Path]:
    """``<stem>.html``, ``<stem>.md`` and ``<stem>.json`` in ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = report_json.render(comparison, parity)
    paths = {"html": directory / f"{stem}.html", "md": directory / f"{stem}.md",
             "json": directory / f"{stem}.json"}
    paths["json"].write_text(text, encoding="utf-8")
    paths["md"].write_text(report_md.render(report_json.document(comparison, parity)),
                           encoding="utf-8")
    paths["html"].write_text(report_html.render(comparison, parity), encoding="utf-8")
    return paths
