"""Store a finished backtest: a ``runs`` row of type backtest and its results.

Everything goes in one unit of work as the run's owner, so a failure stores nothing and
row-level security decides who can read it back.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from daemons.backtest.runner import BacktestRun
from daemons.db import runs
from daemons.db.copy_writer import EventTable, copy_events
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms
from gridcore.sim.broker import SimFill


def run_parameters(run: BacktestRun) -> dict[str, Any]:
    """The spec as JSON: what, besides the market data, determines the result."""
    spec = run.spec
    return {
        "symbol": spec.symbol, "tick_size": str(spec.tick_size), "qty_step": str(spec.qty_step),
        "fill_model": spec.fill_model.upper(), "latency_ms": spec.latency_ms,
        "queue_ahead": spec.queue_ahead, "starting_balance": str(spec.starting_balance),
        "maker_fee_rate": str(spec.maker_fee_rate),
    }


def store_backtest(db: Database, user_id: UUID, run: BacktestRun, *, source: str,
                   account_id: UUID | None = None, strategy_id: int | None = None,
                   seeded_from: UUID | None = None) -> UUID:
    """Write the run, its simulated executions, equity curve and summary; return the id."""
    params = run_parameters(run)
    with db.unit_of_work(user_id) as conn:
        row = runs.start_run(conn, "backtest",
                             {"config": run.spec.config.to_mapping(), **params},
                             account_id=account_id, strategy_id=strategy_id)
        _copy_fills(conn, row.run_id, run)
        _copy_equity(conn, row.run_id, run)
        result = run.result
        start = run.spec.start_ms if run.spec.start_ms is not None else result.first_ts
        end = run.spec.end_ms if run.spec.end_ms is not None else result.last_ts
        conn.execute(
            "INSERT INTO backtest_results (run_id, symbol, source, fill_model, window_start,"
            " window_end, events, params, summary, digest, seeded_from)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [row.run_id, run.spec.symbol, source, params["fill_model"],
             datetime_of_ms(start), datetime_of_ms(end),
             result.events, Jsonb(params), Jsonb(run.summary()), run.digest, seeded_from])
        runs.finish_run(conn, row.run_id, "completed")
    return row.run_id


_EQUITY_POINTS = EventTable("equity_points", (
    "run_id", "ts", "balance", "unrealised_pnl", "equity"), ("run_id", "ts"))


def sim_execution_row(run_id: UUID, seq: int, fill: SimFill) -> tuple:
    """A simulated fill as a ``sim_executions`` row (backtests and shadow runs alike)."""
    return (run_id, seq, datetime_of_ms(fill.ts), fill.exec_id, fill.order_id,
            fill.order_link_id, fill.side, fill.price, fill.qty, fill.fee, fill.realised_pnl,
            fill.position_idx)


def _copy_fills(conn: psycopg.Connection, run_id: UUID, run: BacktestRun) -> None:
    copy_events(conn, "sim_executions", [
        sim_execution_row(run_id, seq, f) for seq, f in enumerate(run.broker.fills, start=1)])


def _copy_equity(conn: psycopg.Connection, run_id: UUID, run: BacktestRun) -> None:
    copy_events(conn, _EQUITY_POINTS, [
        (run_id, datetime_of_ms(p.ts), p.balance, p.unrealised_pnl, p.equity)
        for p in run.result.equity_curve])
