"""One account's day, reconciled: every capture gap listed for it is fetched again from
REST through the capture daemon's own reconciler, then its rows are counted again.

The reconciler (:class:`daemons.capture.reconciler.Reconciler`) is the code capture runs
after a reconnect: executions by cursor over the gap's window with its margin, order
history, fresh positions and wallet, each bad item quarantined, everything stored through
an :class:`~daemons.db.event_writer.EventWriter` whose natural keys drop what is already
there. Here it runs on the asset's thread, without its timer: one call per listed gap.
A gap's executions counted again after the fetch say what REST still had that capture had
not stored (``rows_recovered``); the gap is then marked filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from daemons.bybit.rest import BybitRest
from daemons.capture.private import AccountPages
from daemons.capture.reconciler import Reconciler
from daemons.capture.status import StatusBoard
from daemons.db.event_writer import EventWriter
from daemons.db.session import Database
from daemons.db.targets import AccountTarget
from daemons.db.times import datetime_of_ms
from gridbot_pipelines.partitions import day_window_ms


@dataclass(frozen=True)
class AccountDay:
    """What reconciling one account's day found and did."""

    account: str
    gaps: int
    gaps_filled: int  # of those capture had left unfilled
    executions_before: int
    executions_after: int
    fetched: int

    @property
    def recovered(self) -> int:
        return self.executions_after - self.executions_before


def reconcile_day(db: Database, target: AccountTarget, rest: BybitRest, market: BybitRest,
                  day: str, spill_dir: Path) -> AccountDay:
    """Fetch every gap of ``target`` overlapping ``day`` again; mark them filled."""
    start, end = day_window_ms(day)
    gaps = _gaps(db, target, start, end)
    before = [_executions(db, target, g_start, g_end) for _, g_start, g_end, _ in gaps]
    day_before = _executions(db, target, start, end - 1)
    writer = EventWriter(db, spill_dir, name="dagster").start()
    board = StatusBoard()
    fetched = 0
    try:
        reconciler = Reconciler(writer, board, market, ())
        account = AccountPages(target, rest, writer, board)
        for _, g_start, g_end, _ in gaps:
            fetched += reconciler.fill_private(account, g_start, "nightly", g_end,
                                               until_ms=g_end)
    finally:
        writer.close()
    if writer.backlog() or writer.spill_files():
        raise RuntimeError(f"{target.name}: {writer.backlog()} fetched rows not stored "
                           "(the database is down?); the gaps stay as they were")
    with db.unit_of_work(target.user_id) as conn:
        for (gap_id, g_start, g_end, _), was in zip(gaps, before, strict=True):
            found = _count(conn, target.account_id, g_start, g_end) - was
            conn.execute(
                "UPDATE capture_gaps SET filled = true, rows_recovered = rows_recovered + %s,"
                " detail = concat_ws('; ', detail, %s::text) WHERE gap_id = %s",
                [found, f"nightly reconcile {day}: {found} execution(s) recovered", gap_id])
    return AccountDay(target.name, len(gaps), sum(1 for gap in gaps if not gap[3]),
                      day_before, _executions(db, target, start, end - 1), fetched)


def _gaps(db: Database, target: AccountTarget, start: int, end: int,
          ) -> list[tuple[UUID, int, int, bool]]:
    """The account's gaps overlapping [start, end), oldest first (its owner's view): id,
    window (inclusive) and whether capture filled it."""
    with db.unit_of_work(target.user_id) as conn:
        rows = conn.execute(
            "SELECT gap_id, (extract(epoch FROM window_start) * 1000)::bigint,"
            " (extract(epoch FROM window_end) * 1000)::bigint, filled FROM capture_gaps"
            " WHERE account_id = %s AND window_end >= %s AND window_start < %s"
            " ORDER BY window_start",
            [target.account_id, datetime_of_ms(start), datetime_of_ms(end)]).fetchall()
    return [tuple(row) for row in rows]


def _executions(db: Database, target: AccountTarget, start: int, end: int) -> int:
    with db.unit_of_work(target.user_id) as conn:
        return _count(conn, target.account_id, start, end)


def _count(conn, account_id: UUID, start: int, end: int) -> int:  # noqa: ANN001
    """Executions of the account from ``start`` to ``end``, both included."""
    return conn.execute(
        "SELECT count(*) FROM private_executions WHERE account_id = %s"
        " AND exchange_ts >= %s AND exchange_ts <= %s",
        [account_id, datetime_of_ms(start), datetime_of_ms(end)]).fetchone()[0]
