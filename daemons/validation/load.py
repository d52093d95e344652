"""One live (or shadow) run read back from the database as the comparison's live side.

The I/O edge of the comparison (docs/validation.md, "Loading a run"): everything is read
in the run owner's unit of work (row-level security applies) through
``daemons.db.captured``, and turned into the plain values of :mod:`.inputs`:

* **fills**: a live run's ``private_executions``, those stamped with the run's id and
  those stamped with none (capture stored the row before the trading daemon did, so its
  copy was skipped as a duplicate) whose client id decodes to the run's strategy, or that
  settle funding; a shadow run's ``sim_executions``;
* **decisions**: ``engine_decisions`` in the order made;
* **latency**: per order, from the trigger of the decision that placed (or cancelled) it
  to the exchange's time for the order reaching the book (its first ``New``,
  ``PartiallyFilled`` or ``Filled`` state; for a cancel, its ``Cancelled`` state). Both
  ends are exchange times, so no clock offset between gridbot's host and the exchange
  enters, and the delay is measured from the moment a replay decides (a replay steps on
  exchange time): the market data's trip to gridbot, the decision, the request's trip and
  the exchange's own queueing all count, as they all delay the order live;
* **gaps**: ``capture_gaps`` over the window that REST could not fill (a filled gap's rows
  were recovered, so the data is whole there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import psycopg

from daemons.db import captured
from daemons.db.runs import Run
from daemons.validation.inputs import FUNDING, TRADE, CaptureGap, Decision, Fill, RunSide
from daemons.validation.latency import LatencyStats, measure_latency
from daemons.validation.parity import ExchangePosition, ExchangeReports, ExchangeWallet
from gridcore import order_ids

#: Acknowledgements are looked for this long after the window (an order placed at its
#: very end is acknowledged after it).
ACK_MARGIN_MS = 60_000


@dataclass(frozen=True)
class LiveRun:
    """A run's side of a comparison over ``[start_ms, end_ms)``."""

    run: Run
    symbol: str
    tick_size: Decimal
    start_ms: int
    end_ms: int
    side: RunSide
    latency: LatencyStats
    gaps: tuple[CaptureGap, ...]
    #: Every execution of the account's symbol in the window, the run's and any other's
    #: (what the exchange's position reports count; empty for a shadow run).
    account_fills: tuple[Fill, ...] = ()


def load_live(conn: psycopg.Connection, run: Run, start_ms: int, end_ms: int) -> LiveRun:
    """Read ``run``'s fills, decisions, latency and capture gaps of the window.

    ``start_ms`` is the millisecond of the snapshot the replays start from: what happened
    in it is part of the snapshot (the engine had stepped that millisecond's market events,
    the account had booked its fills), so fills and decisions are read from the next one.
    """
    if run.run_type not in ("live", "shadow") or run.account_id is None:
        raise ValueError(f"run {run.run_id} is a {run.run_type} run: compare a live or "
                         "shadow run")
    snapshot = run.config_snapshot
    symbol, tick_size = str(snapshot["symbol"]), Decimal(str(snapshot["tick_size"]))
    after = start_ms + 1
    decisions = [_decision(row) for row in
                 captured.run_decisions(conn, run.run_id, after, end_ms)]
    account_fills: tuple[Fill, ...] = ()
    if run.run_type == "shadow":
        fills = [_sim_fill(row) for row in
                 captured.sim_executions_of(conn, run.run_id, after, end_ms)]
        latency = LatencyStats.fixed(0)  # a shadow run's simulated broker acts at once
    else:
        rows = captured.run_executions(conn, run.run_id, run.account_id, symbol, after,
                                       end_ms)
        fills = live_fills(rows, run.run_id, str(run.strategy_id))
        account_fills = tuple(_execution(row) for row in rows)
        acks = captured.order_acks(conn, run.account_id, symbol, start_ms,
                                   end_ms + ACK_MARGIN_MS)
        latency = order_latency(decisions, acks)
    gaps = tuple(CaptureGap(int(s), int(e), stream, reason) for s, e, stream, reason in
                 captured.unfilled_gaps(conn, run.account_id, symbol, start_ms, end_ms))
    return LiveRun(run, symbol, tick_size, start_ms, end_ms,
                   RunSide("live", tuple(fills), tuple(decisions)), latency, gaps,
                   account_fills)


def live_fills(rows: Sequence[tuple], run_id: UUID, strategy: str) -> list[Fill]:
    """The run's executions among the account's (see the module docstring)."""
    fills = []
    for row in rows:
        link, exec_type, row_run = row[4], row[10], row[11]
        if row_run != run_id and exec_type != FUNDING:
            key = order_ids.decode(link)
            if key is None or key.strategy_id != strategy:
                continue
        fills.append(_execution(row))
    return fills


def load_exchange_reports(conn: psycopg.Connection, live: LiveRun) -> ExchangeReports | None:
    """What the exchange reported over a live run's window, for accounting parity: the
    account's executions of the symbol (read with the run), its position reports and, when
    it traded nothing else in the window, its wallet reports. None for a shadow run (its
    account is simulated) or when no position report precedes the window (nothing to
    start from)."""
    run, start_ms, end_ms = live.run, live.start_ms, live.end_ms
    if run.run_type != "live" or run.account_id is None:
        return None
    baseline, positions = captured.position_reports(conn, run.account_id, live.symbol,
                                                    start_ms, end_ms)
    if not baseline:
        return None
    wallet_base, wallets = captured.wallet_reports(conn, run.account_id, start_ms, end_ms)
    if captured.traded_other_symbols(conn, run.account_id, live.symbol, start_ms, end_ms):
        wallet_base = None  # the wallet is not this symbol's alone
    return ExchangeReports(
        executions=live.account_fills, positions=[_position(row) for row in positions],
        wallets=[ExchangeWallet(int(ts), balance) for ts, balance in wallets],
        baseline_positions={int(row[1]): _position(row) for row in baseline},
        baseline_wallet=None if wallet_base is None else ExchangeWallet(int(wallet_base[0]),
                                                                        wallet_base[1]),
        tick_size=live.tick_size)


def _execution(row: tuple) -> Fill:
    """A ``captured.run_executions`` row (a trade or a funding settlement)."""
    (ts, price, qty, side, link, fee, order_id, exec_id, fee_rate, closed_pnl, exec_type,
     _run) = row
    return Fill(ts=int(ts), price=price, qty=qty, side=side, order_link_id=link, fee=fee,
                order_id=order_id, exec_id=exec_id, fee_rate=fee_rate, closed_pnl=closed_pnl,
                exec_type=FUNDING if exec_type == FUNDING else TRADE)


def _position(row: tuple) -> ExchangePosition:
    ts, idx, size, entry, mark, value, unrealised, realised = row
    return ExchangePosition(ts=int(ts), position_idx=int(idx), size=size, avg_price=entry,
                            mark_price=mark, position_value=value,
                            unrealised_pnl=unrealised, cum_realised_pnl=realised)


def _sim_fill(row: tuple) -> Fill:
    ts, price, qty, side, link, fee, order_id, exec_id, realised, position_idx = row
    return Fill(ts=int(ts), price=price, qty=qty, side=side, order_link_id=link, fee=fee,
                order_id=order_id, exec_id=exec_id, position_idx=int(position_idx),
                closed_pnl=realised)


def _decision(row: tuple) -> Decision:
    (seq, ts, _local, trigger_kind, trigger, intent_kind, link, side, price, qty,
     intent) = row
    return Decision(seq=int(seq), ts=int(ts), trigger_kind=trigger_kind, trigger=trigger,
                    intent_kind=intent_kind, order_link_id=link, side=side, price=price,
                    qty=qty, intent=intent)


def order_latency(decisions: Sequence[Decision],
                  acks: Sequence[tuple[str, int | None, int | None]]) -> LatencyStats:
    """Placements and cancels: from the deciding trigger's exchange time to the
    exchange's time for the order on the book, or for its cancellation."""
    sent: dict[str, int] = {}
    for decision in decisions:
        if decision.order_link_id is None:
            continue
        kind = "P" if decision.intent_kind == "place" else "C"
        sent.setdefault(kind + decision.order_link_id, decision.ts)
    acked: dict[str, int] = {}
    for link, on_book, cancelled in acks:
        if on_book is not None:
            acked["P" + link] = int(on_book)
        if cancelled is not None:
            acked["C" + link] = int(cancelled)
    return measure_latency(sent, acked)
