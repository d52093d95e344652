"""What a comparison is given: plain values a loader builds from the database.

Every class mirrors rows the trading daemon and the capture daemon store, so a loader is a
thin mapping (docs/validation.md, "Comparison"):

* :class:`Fill`: a row of ``private_executions`` (live), or of ``sim_executions`` (shadow
  runs, replays), or a ``SimFill`` of a replay in memory;
* :class:`Decision`: a row of ``engine_decisions`` (live), or an intent a replay's engine
  emitted (:mod:`daemons.validation.recorder`);
* :class:`CaptureGap`: a row of ``capture_gaps`` overlapping the window;
* :class:`RunSide`: one side of the comparison, the live run or one replay;
* :class:`ComparisonInput`: the whole question, with the window's market as a
  :class:`~gridcore.sim.tape.MarketTape` (the tape the replays ran on).

Times are integer milliseconds UTC (exchange time), money and sizes ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from daemons.validation.latency import LatencyStats
from gridcore import order_ids
from gridcore.events import BUY
from gridcore.intents import LONG
from gridcore.positions import LONG_IDX, SHORT_IDX
from gridcore.sim.broker import SimFill
from gridcore.sim.tape import MarketTape

ZERO = Decimal(0)
TRADE = "Trade"
FUNDING = "Funding"


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order (or a funding settlement, ``exec_type="Funding"``).

    ``closed_pnl`` is the realised PnL the exchange (or the simulated broker) reported for
    the fill, ``None`` when unknown; gridcore's books recompute it either way. For a
    funding settlement ``price`` is the mark, ``qty`` the position size, ``fee`` the
    payment (positive: paid) and ``fee_rate`` the funding rate, as Bybit reports them.
    ``position_idx`` 0 means "derive it": from the decoded order id's direction, or for a
    funding row from its side (Buy: the long side).
    """

    ts: int
    price: Decimal
    qty: Decimal
    side: str
    order_link_id: str
    fee: Decimal = ZERO
    order_id: str = ""
    exec_id: str = ""
    position_idx: int = 0
    fee_rate: Decimal | None = None
    closed_pnl: Decimal | None = None
    exec_type: str = TRADE

    @classmethod
    def from_sim(cls, fill: SimFill, fee_rate: Decimal | None = None) -> Fill:
        """A replay's fill in memory (the same values ``sim_executions`` stores)."""
        return cls(ts=fill.ts, price=fill.price, qty=fill.qty, side=fill.side,
                   order_link_id=fill.order_link_id, fee=fill.fee, order_id=fill.order_id,
                   exec_id=fill.exec_id, position_idx=fill.position_idx, fee_rate=fee_rate,
                   closed_pnl=fill.realised_pnl)

    @property
    def key(self) -> order_ids.OrderKey | None:
        """The decoded client id, ``None`` for an order gridcore did not name."""
        return order_ids.decode(self.order_link_id)

    @property
    def idx(self) -> int:
        """The hedge-mode side this fill books into (1 long, 2 short)."""
        if self.position_idx:
            return self.position_idx
        if self.exec_type == FUNDING:
            return LONG_IDX if self.side == BUY else SHORT_IDX
        key = self.key
        if key is None:
            raise ValueError(f"fill {self.exec_id or self.order_link_id!r}: no position_idx "
                             "and an order id that does not decode")
        return LONG_IDX if key.direction == LONG else SHORT_IDX


@dataclass(frozen=True, slots=True)
class Decision:
    """One intent an engine emitted, with the event that caused it (``engine_decisions``).

    ``ts`` is the triggering event's exchange time; ``trigger`` and ``intent`` are the JSON
    documents the trading daemon stores (``trigger_event``, ``intent``).
    """

    seq: int
    ts: int
    trigger_kind: str
    trigger: Mapping[str, Any]
    intent_kind: str
    order_link_id: str | None
    side: str | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    intent: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CaptureGap:
    """A window the capture daemon knows it missed (``capture_gaps``), ``end_ms`` inclusive."""

    start_ms: int
    end_ms: int
    stream: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RunSide:
    """One side of a comparison: the live run (``name="live"``) or a replay (the model)."""

    name: str
    fills: Sequence[Fill]
    decisions: Sequence[Decision] = ()


@dataclass(frozen=True)
class ComparisonInput:
    """A live (or shadow) run and its replays over one window.

    ``start_positions`` holds (size, entry) per position index where the run stood at the
    seed (the replays start from the same); ``open_at_start`` the client ids of the orders
    resting then (neither side's decisions placed them). ``grid_levels`` are the grid's
    prices at the seed, for the price chart. ``latency`` is the run's order latency,
    measured from its acknowledgements (:func:`daemons.validation.latency.measure_latency`);
    the replays ran with it.
    """

    run_id: str
    symbol: str
    tick_size: Decimal
    start_ms: int
    end_ms: int
    live: RunSide
    replays: Sequence[RunSide]
    tape: MarketTape
    latency: LatencyStats
    start_positions: Mapping[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    open_at_start: frozenset[str] = frozenset()
    gaps: Sequence[CaptureGap] = ()
    grid_levels: Sequence[float] = ()

    def __post_init__(self) -> None:
        if self.tick_size <= 0:
            raise ValueError(f"tick_size: must be > 0, got {self.tick_size}")
        if self.start_ms >= self.end_ms:
            raise ValueError(f"window: start {self.start_ms} must be before end {self.end_ms}")
        names = [side.name for side in self.replays]
        if len(set(names)) != len(names) or "live" in names:
            raise ValueError(f"replays: names must be unique and not 'live', got {names}")
