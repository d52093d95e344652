"""The demo's verdicts: what the nightly validation concluded about each run, from the database.

The demo reads what the pipeline stored (``comparisons`` of origin ``pipeline``, sql/0010),
the newest comparison of each live or shadow run of the validated days, with every fill
model's metrics and targets, verdicts, first diverging decision and the reasons given to
the fills the replay could not explain. The demo owns its database, so it reads as the
tables' owner across its two users; what it prints is what each user's own report says.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from daemons.db.session import Database


@dataclass(frozen=True)
class ModelVerdict:
    model: str
    passed: bool
    metrics: list[dict[str, Any]]
    divergence: dict[str, Any] | None
    #: How many unexplained fills carry each reason (``queue``, ``engine divergence``...).
    reasons: Counter[str]


@dataclass(frozen=True)
class RunVerdict:
    user: str
    account: str
    symbol: str
    run_type: str
    run_id: UUID
    window_start: datetime
    window_end: datetime
    passed: bool
    models: list[ModelVerdict]
    report_dir: str | None

    @property
    def label(self) -> str:
        return f"{self.user}/{self.account} {self.symbol} ({self.run_type})"

    def model(self, name: str) -> ModelVerdict:
        return next(m for m in self.models if m.model == name)


def load_verdicts(db: Database, days: list[str], origin: str = "pipeline") -> list[RunVerdict]:
    """The newest ``origin`` comparison of every run that started on ``days``."""
    first = date.fromisoformat(min(days))
    last = date.fromisoformat(max(days)) + timedelta(days=1)
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (c.run_id) c.comparison_id, u.username, a.account_name,"
            " c.symbol, r.run_type, c.run_id, c.window_start, c.window_end, c.passed,"
            " c.report_dir FROM comparisons c JOIN runs r USING (run_id, user_id)"
            " JOIN users u ON u.user_id = c.user_id"
            " JOIN bybit_accounts a ON a.account_id = r.account_id"
            " WHERE c.origin = %s AND r.start_ts >= %s AND r.start_ts < %s"
            " ORDER BY c.run_id, c.created_at DESC", [origin, first, last]).fetchall()
        verdicts = []
        for (comparison_id, *run, report_dir) in rows:
            models = [ModelVerdict(model, passed, metrics, divergence, Counter(dict(
                conn.execute("SELECT reason, count(*) FROM comparison_fills WHERE"
                             " comparison_id = %s AND fill_model = %s AND reason IS NOT NULL"
                             " GROUP BY reason", [comparison_id, model]).fetchall())))
                      for model, passed, metrics, divergence in conn.execute(
                          "SELECT fill_model, passed, metrics, divergence FROM"
                          " comparison_results WHERE comparison_id = %s ORDER BY fill_model",
                          [comparison_id]).fetchall()]
            verdicts.append(RunVerdict(*run, models=models, report_dir=report_dir))
    return sorted(verdicts, key=lambda v: (v.user, v.account))


def report_paths(home: Path, days: list[str]) -> list[Path]:
    """The nightly validation reports of ``days`` the pipeline wrote (its
    ``nightly_validation_report`` asset: ``$GRIDBOT_HOME/reports/nightly/<day>.html``)."""
    pages = (home / "reports" / "nightly" / f"{day}.html" for day in days)
    return [page for page in pages if page.is_file()]


def write_verdicts(path: Path, verdicts: list[RunVerdict]) -> Path:
    """The verdicts as JSON, for what reads the demo's result without parsing a table (a CI
    job, the demo's own test): one object per run, its models' metrics and verdicts."""
    document = [{**asdict(v), "label": v.label,
                 "models": [{**asdict(m), "reasons": dict(m.reasons)} for m in v.models]}
                for v in verdicts]
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path
