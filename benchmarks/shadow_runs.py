"""Shadow runs over a stored day, for the nightly bench (``bench_pipeline``).

A day in the past cannot be traded live again, but a shadow run is the trading daemon's
own pieces fed with the market: a :class:`~daemons.trading.runtime.StrategyRuntime` with
its :class:`~daemons.trading.records.RunRecorder` and a
:class:`~daemons.trading.gateways.ShadowGateway` (the simulated account, CONSERVATIVE fills),
stepped here through the stored day's trades and tickers in order, as the worker steps
them (snapshots between milliseconds every minute of market time, the replay cut counted
within a millisecond). What it leaves is what a shadow run of the daemon leaves: the run
(its times set to the market's), engine snapshots, decisions and simulated fills; the
engine journal is left out (the comparison does not read it).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

import numpy as np

from daemons.db.copy_writer import copy_events
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms
from daemons.trading.gateways import ShadowGateway
from daemons.trading.records import RunRecorder
from daemons.trading.runtime import StrategyRuntime
from daemons.venue.instruments import Instrument
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.events import FundingEvent
from gridcore.sim.tape import TICKER, MarketTape

#: Market time between two snapshots (the trading daemon's default interval).
SNAPSHOT_MS = 60_000
SHADOW = "shadow"


class _Rows:
    """The rows a run leaves, kept until it ends (the batched writer's interface)."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple[Any, ...]]] = defaultdict(list)

    def put(self, scope: UUID | None, table: str, rows: list[tuple[Any, ...]]) -> None:
        if table != "engine_inputs":
            self.tables[table].extend(rows)


def shadow_run(db: Database, strategy_id: int, tape: MarketTape, instrument: Instrument,
               start_ms: int, end_ms: int, balance: Decimal = Decimal(100_000), *,
               overtake_ms: int = 0) -> UUID:
    """``strategy_id`` in shadow over ``tape``'s ``[start_ms, end_ms)``; the run's id.

    With ``overtake_ms``, the trades stamped up to that long after a ticker are delivered
    before it, as over a busy connection where the two topics race."""
    with db.admin() as conn:
        user_id, account_id, symbol, config = conn.execute(
            "SELECT user_id, account_id, symbol, config_json FROM strategies"
            " WHERE strategy_id = %s",
            [strategy_id]).fetchone()
    grid = GridConfig.from_mapping(config)
    rows = _Rows()
    recorder = RunRecorder.start(
        db, rows, user_id=user_id, account_id=account_id, strategy_id=strategy_id,
        symbol=symbol, run_type=SHADOW,
        config_snapshot={"config": grid.to_mapping(), "symbol": symbol,
                         "tick_size": str(instrument.tick_size),
                         "qty_step": str(instrument.qty_step), "mode": SHADOW})
    gateway = ShadowGateway(symbol, "CONSERVATIVE", balance, sink=rows, user_id=user_id,
                            run_id=recorder.run_id)
    engine = GridEngine(grid, instrument.tick_size, instrument.qty_step, str(strategy_id),
                        symbol=symbol)
    runtime = StrategyRuntime(strategy_id=strategy_id, mode=SHADOW, engine=engine,
                              recorder=recorder, gateway=gateway)
    for event in gateway.start(start_ms):
        runtime.feed(event, 0)
    runtime.snapshot()
    _step(runtime, tape, start_ms, end_ms, overtake_ms)
    runtime.release_trades()
    runtime.snapshot()
    recorder.finish("stopped")
    with db.unit_of_work(user_id) as conn:
        for table, table_rows in rows.tables.items():
            copy_events(conn, table, table_rows)
    with db.admin() as conn:  # the run's times are the market's, not the bench's clock
        conn.execute("UPDATE runs SET start_ts = %s, end_ts = %s WHERE run_id = %s",
                     [datetime_of_ms(start_ms), datetime_of_ms(end_ms), recorder.run_id])
    return recorder.run_id


def _step(runtime: StrategyRuntime, tape: MarketTape, start_ms: int, end_ms: int,
          overtake_ms: int) -> None:
    """The market events of the window, as the worker hands them to a shadow strategy (its
    timer asking for a snapshot every :data:`SNAPSHOT_MS` of market; each event's place in
    its millisecond counted in delivery order, as the feed counts it)."""
    lo, hi = (int(i) for i in np.searchsorted(tape.ts, [start_ms, end_ms]))
    delivered = tape.ts[lo:hi] + np.where(tape.kind[lo:hi] == TICKER, overtake_ms, 0)
    next_snapshot, last_ms, seen = start_ms + SNAPSHOT_MS, -1, 0
    for i in lo + np.argsort(delivered, kind="stable"):
        event = tape.event(int(i))
        if isinstance(event, FundingEvent):  # not a market stream's event
            continue
        ts = event.exchange_ts
        if ts >= next_snapshot:
            runtime.want_snapshot()
            next_snapshot = ts + SNAPSHOT_MS
        seen = seen + 1 if ts == last_ms else 1
        last_ms = ts
        runtime.on_market(event, seen, 0, step=True)
