"""The state a live run stood in at a moment, read back to start a replay from it.

A replay of a live window is comparable with what really happened only if it starts where
the live bot stood: the engine's saved state (``engine_snapshots``, written by the live
worker), and the account as captured (positions, wallet, open orders). The newest snapshot
at or before the requested start is used, and the replay starts right after it.

Two things the engine state alone cannot say are part of the snapshot document
(:func:`snapshot_document`, the format the live worker must write):

* where exactly in the event order it was taken. Its ``exchange_ts`` is the exchange time
  of the last market event the engine stepped; ``events_at_ts`` counts the market events
  of that millisecond it had stepped, in replay order. The replay resumes with the next
  one, so events later in the same millisecond are not lost.
* the requests in flight (placements not yet acknowledged, cancels not yet landed), with
  the event time each was sent at. The engine counts them as pending; the replay lands
  them ``latency`` after they were sent, as the uninterrupted run would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from daemons.db import captured, runs
from daemons.db.errors import InvalidInput, NotFound
from gridcore import order_ids
from gridcore.config import GridConfig
from gridcore.events import FINAL_ORDER_STATUSES, is_plain_limit
from gridcore.intents import LONG, SHORT, CancelIntent, Intent, PlaceLimitIntent
from gridcore.order_view import HeldOrder
from gridcore.positions import LONG_IDX, SHORT_IDX
from gridcore.sim.orders import SimOrder

#: The snapshot document's key holding the replay cut and the requests in flight.
SEED_KEY = "seed"
#: The exchange time the trading daemon stamps on a snapshot taken before its engine saw
#: any market event (at the start of a run); such a snapshot cannot be resumed from
#: captured data.
BEFORE_MARKET = 0


@dataclass(frozen=True)
class LiveSeed:
    """Where a live run stood at ``snapshot_ts`` (ms)."""

    run_id: UUID
    account_id: UUID
    strategy_id: int | None
    snapshot_ts: int
    engine_state: dict[str, Any]
    balance: Decimal
    positions: dict[int, tuple[Decimal, Decimal]]
    orders: list[SimOrder]
    events_at_ts: int = 0
    in_flight: tuple[tuple[int, Intent], ...] = ()

    @property
    def symbol(self) -> str:
        return str(self.engine_state["symbol"])

    @property
    def config(self) -> GridConfig:
        """The parameters the live engine ran with (the seeded replay runs with them)."""
        return GridConfig.from_mapping(self.engine_state["config"])

    @property
    def tick_size(self) -> Decimal:
        return Decimal(str(self.engine_state["tick_size"]))

    @property
    def qty_step(self) -> Decimal:
        return Decimal(str(self.engine_state["qty_step"]))


def snapshot_document(engine_state: dict[str, Any], *, events_at_ts: int,
                      in_flight: Sequence[tuple[int, Intent]]) -> dict[str, Any]:
    """What the live worker stores in ``engine_snapshots.state``: the engine's saved state
    plus the replay cut and the requests in flight, as ``(sent_ts, intent)`` in the order
    sent (see the module docstring)."""
    if events_at_ts < 0:
        raise ValueError(f"events_at_ts: must be >= 0, got {events_at_ts}")
    requests = [_request_json(ts, intent) for ts, intent in in_flight]
    return {**engine_state, SEED_KEY: {"events_at_ts": events_at_ts, "in_flight": requests}}


def _request_json(sent_ts: int, intent: Intent) -> dict[str, Any]:
    """JSON values only: decimals as strings, so they come back exactly."""
    fields = {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(intent).items()}
    return {"sent_ts": sent_ts, "place" if isinstance(intent, PlaceLimitIntent) else "cancel":
            fields}


def _intent_of(request: dict[str, Any]) -> tuple[int, Intent]:
    if "place" in request:
        fields = request["place"]
        return int(request["sent_ts"]), PlaceLimitIntent(
            **{**fields, "price": Decimal(fields["price"]), "qty": Decimal(fields["qty"])})
    return int(request["sent_ts"]), CancelIntent(**request["cancel"])


def _seed_part(run_id: UUID, state: dict[str, Any]) -> tuple[int, tuple[tuple[int, Intent], ...]]:
    """The replay cut and requests in flight; a snapshot without them cannot be resumed
    exactly, so it is refused rather than replayed with orders that never get answered."""
    part = state.get(SEED_KEY)
    if not isinstance(part, dict):
        raise InvalidInput(f"run {run_id}: its engine snapshot has no {SEED_KEY!r} part (replay"
                           " cut and requests in flight); see live_seed.snapshot_document")
    return int(part["events_at_ts"]), tuple(_intent_of(r) for r in part["in_flight"])


def _placement_order(order: SimOrder) -> tuple[int, int, str]:
    key = order_ids.decode(order.order_link_id)
    return (order.placed_ts, key.sequence if key is not None else 2**62, order.order_id)


def load_live_seed(conn: psycopg.Connection, run_id: UUID, at_ms: int) -> LiveSeed:
    """Read the seed inside the run owner's unit of work (RLS applies)."""
    run = runs.get_run(conn, run_id)
    if run.run_type not in ("live", "shadow"):
        raise InvalidInput(f"run {run_id} is a {run.run_type} run: seed from a live or shadow"
                           " run")
    snapshot = captured.engine_snapshot_at(conn, run_id, at_ms)
    if snapshot is None:
        raise NotFound(f"run {run_id} has no engine snapshot at or before {at_ms} ms")
    snapshot_ts, state = snapshot
    if snapshot_ts <= BEFORE_MARKET:
        raise NotFound(f"run {run_id}: its newest engine snapshot at or before {at_ms} ms was"
                       " taken before its engine saw the market (its first ticker came with "
                       "the live feed's own subscription, which no capture records): start at"
                       " or after its next snapshot")
    account_id, strategy_id = run.account_id, run.strategy_id
    events_at_ts, in_flight = _seed_part(run_id, state)
    held = _held_orders(state, in_flight)
    if run.run_type == "shadow":
        balance, positions, orders = _shadow_account(conn, run_id, state, snapshot_ts, held)
    else:
        symbol = state["symbol"]
        balance = _live_balance(conn, run_id, account_id, state, snapshot_ts)
        positions = captured.positions_at(conn, account_id, symbol, snapshot_ts)
        orders = _resting_orders(conn, account_id, symbol, snapshot_ts, held)
    orders.sort(key=_placement_order)
    return LiveSeed(run_id, account_id, strategy_id, snapshot_ts, state, balance, positions,
                    orders, events_at_ts, in_flight)


def _live_balance(conn: psycopg.Connection, run_id: UUID, account_id: UUID,
                  state: dict[str, Any], snapshot_ts: int) -> Decimal:
    """The USDT wallet as captured at or before the snapshot; else (a snapshot taken right
    after the start can precede the first wallet report, stamped with the exchange's
    answer to the daemon's request) the balance the engine was told."""
    balance = captured.wallet_balance_at(conn, account_id, "USDT", snapshot_ts)
    return _engine_balance(run_id, state) if balance is None else balance


def _engine_balance(run_id: UUID, state: dict[str, Any]) -> Decimal:
    """The wallet balance the engine was last told (its snapshot's view)."""
    if state.get("wallet_balance") is None:
        raise NotFound(f"run {run_id}: no USDT wallet captured or told to its engine by its "
                       "snapshot")
    return Decimal(repr(state["wallet_balance"]))


def _held_orders(state: dict[str, Any], in_flight: Sequence[tuple[int, Intent]],
                 ) -> dict[str, HeldOrder | None]:
    """The engine's orders at the snapshot by client id: acknowledged (it counts them as
    resting), or None while their placement is in flight (they land through the seed's
    ``in_flight``, not as resting orders)."""
    pending = {intent.client_order_id for _, intent in in_flight
               if isinstance(intent, PlaceLimitIntent)}
    held: dict[str, HeldOrder | None] = {}
    for row in state["orders"]:
        order = HeldOrder.from_state(row)
        pending_too = order.order_link_id in pending or not order.acknowledged
        held[order.order_link_id] = None if pending_too else order
    return held


def _resting_orders(conn: psycopg.Connection, account_id: UUID, symbol: str,
                    snapshot_ts: int, held: dict[str, HeldOrder | None]) -> list[SimOrder]:
    """Orders resting at the snapshot, oldest first (their placement time is their time
    priority in the queue; orders of one millisecond go in the order the engine decided
    them, by the sequence in gridcore's client id, then by exchange id).

    The captured account at the snapshot's time, reconciled with the engine's own view: an
    order the engine already holds acknowledged may have reached the book after the
    snapshot's time (the snapshot is stamped with the last market event, and private
    messages can carry later exchange times), so it is seeded from the engine's view; one
    whose placement the engine still counts in flight lands through ``in_flight`` and is
    not seeded twice. Only plain limit orders are seeded, as the engine holds only those:
    a user's conditional or market orders (stop-loss, take-profit) are no grid orders.
    """
    orders, ended = [], set()
    for (order_id, link, side, price, qty, leaves, reduce_only, position_idx, status,
         created, order_type, stop_order_type) in captured.orders_at(conn, account_id, symbol,
                                                                     snapshot_ts):
        if status in FINAL_ORDER_STATUSES or leaves <= 0:
            ended.add(link)
        elif is_plain_limit(order_type, stop_order_type, status) and (
                link not in held or held[link] is not None):
            orders.append(SimOrder(
                order_id=order_id, order_link_id=link or "", side=side, price=price,
                price_f=float(price), qty=qty, leaves_qty=leaves, reduce_only=reduce_only,
                position_idx=position_idx, placed_ts=created or snapshot_ts,
                active_ts=created or snapshot_ts))
    seeded = {o.order_link_id for o in orders} | ended
    orders += [_sim_order(order, Decimal(repr(order.qty)), snapshot_ts)
               for link, order in held.items() if order is not None and link not in seeded]
    return orders


def _shadow_account(conn: psycopg.Connection, run_id: UUID, state: dict[str, Any],
                    snapshot_ts: int, held: dict[str, HeldOrder | None],
                    ) -> tuple[Decimal, dict[int, tuple[Decimal, Decimal]], list[SimOrder]]:
    """A shadow run's simulated account at its snapshot (balance, positions, orders).

    The simulated account is not snapshotted and the captured one is not the shadow's, but
    the engine's own view of it is exact: the shadow broker answers at once, so the engine
    has been told every balance, position and order it holds. Resting quantities are the
    orders' less the run's simulated fills of them up to the snapshot.
    """
    balance = _engine_balance(run_id, state)
    filled = captured.sim_filled_qty(conn, run_id, snapshot_ts)
    positions = {idx: (Decimal(repr(state["positions"][d][0])),
                       Decimal(repr(state["positions"][d][1])))
                 for idx, d in ((LONG_IDX, LONG), (SHORT_IDX, SHORT))}
    orders = []
    for link, order in held.items():
        if order is None or order.cancel_pending:
            continue
        leaves = Decimal(repr(order.qty)) - filled.get(link, Decimal(0))
        if leaves > 0:
            orders.append(_sim_order(order, leaves, snapshot_ts))
    return balance, positions, orders


def _sim_order(order: HeldOrder, leaves: Decimal, ts: int) -> SimOrder:
    """An order of the engine's view, resting from ``ts`` with ``leaves`` still open."""
    return SimOrder(order_id=order.order_id, order_link_id=order.order_link_id,
                    side=order.side, price=Decimal(repr(order.price)), price_f=order.price,
                    qty=Decimal(repr(order.qty)), leaves_qty=leaves,
                    reduce_only=order.reduce_only,
                    position_idx=LONG_IDX if order.direction == LONG else SHORT_IDX,
                    placed_ts=ts, active_ts=ts)


def captured_maker_fee(conn: psycopg.Connection, account_id: UUID, symbol: str,
                       default: Decimal) -> Decimal:
    """The account's maker fee rate as its newest captured maker execution of ``symbol``
    shows it (validation.md: fills pay the account's rate), else ``default``."""
    rate = captured.maker_fee_rate(conn, account_id, symbol)
    return default if rate is None else rate
