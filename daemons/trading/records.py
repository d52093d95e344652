"""What a strategy's run leaves in the database, for validation to read back.

* ``runs``: one row per start of a strategy (live or shadow), with the gridcore version
  and the configuration it ran with;
* ``engine_inputs``: the engine journal, every event fed to the engine in the order it
  was fed (a fresh engine fed the journal makes exactly the recorded decisions);
* ``engine_decisions``: every intent, with the event that caused it;
* ``engine_snapshots``: the engine's state now and then (at start, periodically, at a
  clean stop), in the document format seeded replays read
  (:func:`daemons.backtest.live_seed.snapshot_document`).

Journal and decisions go through the batched writer (one row per event would cost a
transaction each); runs and snapshots are rare and written at once, in the owner's unit of
work (row-level security applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from psycopg.types.json import Jsonb

from daemons.db import runs
from daemons.db.event_codec import kind_of, to_document
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms
from gridcore.events import Event
from gridcore.intents import CancelIntent, Intent, PlaceLimitIntent


class RowSink(Protocol):
    """The batched writer's interface (``put`` rows of a table for a tenant)."""

    def put(self, scope: UUID | None, table: str, rows: list[tuple[Any, ...]]) -> None: ...


class RunRecorder:
    """One run's records; thread-confined to the account's worker."""

    def __init__(self, db: Database, sink: RowSink, *, user_id: UUID, account_id: UUID,
                 strategy_id: int, run_id: UUID, symbol: str) -> None:
        self.db = db
        self.sink = sink
        self.user_id = user_id
        self.account_id = account_id
        self.strategy_id = strategy_id
        self.run_id = run_id
        self.symbol = symbol
        self.inputs = 0
        self.decisions = 0

    def __repr__(self) -> str:
        return f"RunRecorder(run={self.run_id}, strategy={self.strategy_id})"

    @classmethod
    def start(cls, db: Database, sink: RowSink, *, user_id: UUID, account_id: UUID,
              strategy_id: int, symbol: str, run_type: str,
              config_snapshot: Mapping[str, Any]) -> RunRecorder:
        """Record the start of a run; return its recorder."""
        with db.unit_of_work(user_id) as conn:
            run = runs.start_run(conn, run_type, config_snapshot, account_id=account_id,
                                 strategy_id=strategy_id)
        return cls(db, sink, user_id=user_id, account_id=account_id,
                   strategy_id=strategy_id, run_id=run.run_id, symbol=symbol)

    def journal(self, event: Event) -> None:
        """Append ``event`` to the run's journal (the order of calls is the feed order)."""
        self.inputs += 1
        self.sink.put(self.user_id, "engine_inputs", [(
            self.account_id, self.run_id, self.inputs, kind_of(event),
            datetime_of_ms(event.exchange_ts), datetime_of_ms(event.local_ts),
            to_document(event))])

    def decision(self, trigger: Event, intent: Intent) -> None:
        """Record one intent and the event that caused it."""
        self.decisions += 1
        place = isinstance(intent, PlaceLimitIntent)
        self.sink.put(self.user_id, "engine_decisions", [(
            self.account_id, self.run_id, self.strategy_id, self.decisions, self.symbol,
            datetime_of_ms(trigger.exchange_ts), datetime_of_ms(trigger.local_ts),
            kind_of(trigger), to_document(trigger), "place" if place else "cancel",
            intent.client_order_id, intent.side if place else None,
            intent.price if place else None, intent.qty if place else None,
            intent_document(intent))])

    def snapshot(self, exchange_ts: int, document: dict[str, Any]) -> None:
        """Store the engine's state at ``exchange_ts`` (one per millisecond: the first)."""
        with self.db.unit_of_work(self.user_id) as conn:
            conn.execute(
                "INSERT INTO engine_snapshots (run_id, exchange_ts, state) VALUES (%s, %s, %s)"
                " ON CONFLICT (run_id, exchange_ts) DO NOTHING",
                [self.run_id, datetime_of_ms(exchange_ts), Jsonb(document)])

    def finish(self, status: str) -> None:
        with self.db.unit_of_work(self.user_id) as conn:
            runs.finish_run(conn, self.run_id, status)


def intent_document(intent: Intent) -> dict[str, Any]:
    """An intent as JSON values (decimals as strings), with its kind."""
    fields = {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(intent).items()}
    return {"kind": "place" if isinstance(intent, PlaceLimitIntent) else "cancel", **fields}


def intent_of(document: Mapping[str, Any]) -> Intent:
    """The intent :func:`intent_document` made."""
    fields = {k: v for k, v in document.items() if k != "kind"}
    if document["kind"] == "place":
        return PlaceLimitIntent(**{**fields, "price": Decimal(fields["price"]),
                                   "qty": Decimal(fields["qty"])})
    return CancelIntent(**fields)
