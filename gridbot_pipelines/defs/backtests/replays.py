"""A stored strategy replayed over one captured day: what both backtest assets run.

Each replay is a :class:`daemons.backtest.request.BacktestRequest` (the code behind
``gridbot backtest --strategy ID --source db --from DAY --to DAY+1``), resolved by
:func:`~daemons.backtest.request.prepare`, so a Dagster backtest means what the command
means: the strategy's parameters with the analyst's overrides, its owner, its account's
captured maker fee. The nightly replays read a symbol's day once (:func:`day_tapes`, the
database source's own reader) and replay every strategy and fill model of that symbol on
it. A replay whose result is already stored for the same strategy, window and
parameters (same digest) is not stored twice, so a partition can be materialised again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import dagster as dg
from psycopg.types.json import Jsonb

from daemons.backtest.db_source import db_tapes
from daemons.backtest.request import BacktestRequest, Outcome, prepare
from daemons.backtest.store import run_parameters, store_backtest
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms
from gridbot_pipelines.partitions import day_window_ms
from gridcore.sim.tape import MarketTape

FILL_MODELS = ("optimistic", "conservative", "pessimistic", "queue")


class ReplayConfig(dg.Config):
    """What an analyst sets in the launchpad (the strategy's stored parameters otherwise).

    ``overrides`` are grid parameters as ``gridbot backtest --set`` takes them
    (``grid_step``: "0.3"); ``maker_fee`` defaults to the account's captured fee rate.
    """

    fill_models: list[str] = ["conservative", "queue"]
    latency_ms: int = 0
    queue_ahead: float = 0.0
    overrides: dict[str, str] = {}
    maker_fee: str | None = None


def request(strategy_id: int, day: str, fill_model: str, config: ReplayConfig,
            ) -> BacktestRequest:
    """The backtest of ``strategy_id`` over the UTC ``day`` with one fill model."""
    if fill_model not in FILL_MODELS:
        raise ValueError(f"fill model {fill_model!r}: use one of {', '.join(FILL_MODELS)}")
    start, end = day_window_ms(day)
    return BacktestRequest(
        strategy_id=strategy_id, source="db", fill_model=fill_model,
        latency_ms=config.latency_ms, queue_ahead=config.queue_ahead,
        overrides=dict(config.overrides), start_ms=start, end_ms=end, store=False,
        maker_fee=None if config.maker_fee is None else Decimal(config.maker_fee))


def day_tapes(db: Database, symbol: str, day: str) -> list[MarketTape]:
    """The captured day of ``symbol``, read once, as the database source reads it."""
    start, end = day_window_ms(day)
    return list(db_tapes(db, symbol, start, end))


def replay(db: Database, wanted: BacktestRequest,
           tapes: Sequence[MarketTape] | None = None) -> tuple[Outcome, UUID]:
    """Replay ``wanted`` (on ``tapes`` when the day is already read); store it for the
    strategy's owner unless the same result is stored; return it and its run id."""
    prepared = prepare(wanted, db)
    if tapes is not None:
        prepared = replace(prepared, tapes=tapes)
    outcome = prepared.run()
    run_id = _stored(db, prepared.owner, prepared.strategy_id, outcome)
    if run_id is None:
        run_id = store_backtest(db, prepared.owner, outcome.run, source=prepared.source,
                                account_id=prepared.account_id,
                                strategy_id=prepared.strategy_id)
    return outcome, run_id


def _stored(db: Database, owner: UUID, strategy_id: int | None, outcome: Outcome,
            ) -> UUID | None:
    """An earlier stored run of the same strategy, window, parameters and digest."""
    spec = outcome.run.spec
    with db.unit_of_work(owner) as conn:
        row = conn.execute(
            "SELECT b.run_id FROM backtest_results b JOIN runs r USING (run_id)"
            " WHERE r.strategy_id = %s AND b.window_start = %s AND b.window_end = %s"
            " AND b.params = %s AND b.digest = %s"
            " AND r.config_snapshot -> 'config' = %s LIMIT 1",
            [strategy_id, datetime_of_ms(spec.start_ms), datetime_of_ms(spec.end_ms),
             Jsonb(run_parameters(outcome.run)), outcome.run.digest,
             Jsonb(spec.config.to_mapping())]).fetchone()
    return None if row is None else row[0]


def summary_row(strategy_id: int, outcome: Outcome, run_id: UUID) -> dict[str, Any]:
    """One replay as a row of the assets' metadata (money as floats, for the UI)."""
    summary = outcome.summary
    return {"strategy_id": strategy_id, "fill_model": summary["fill_model"],
            "fills": summary["fills"], "realised_pnl": float(summary["realised_pnl"]),
            "fees": float(summary["fees"]), "events": summary["events"],
            "digest": summary["digest"], "run_id": str(run_id)}
