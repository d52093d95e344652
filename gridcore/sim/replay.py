"""The replay loop: market events through the broker and the engine, in event order.

For each market event the broker first lands the requests whose latency has passed,
then reports the fills the event caused (so the engine knows them before it steps), then
the engine steps, then the broker takes its intents. The loop is the same for every fill
model and every source of events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from gridcore.engine import GridEngine
from gridcore.intents import CancelIntent, PlaceLimitIntent
from gridcore.positions import LONG_IDX, SHORT_IDX
from gridcore.sim.broker import SimBroker


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Account value at one moment of the replay."""

    ts: int
    balance: Decimal
    unrealised_pnl: Decimal
    equity: Decimal


@dataclass(slots=True)
class ReplayResult:
    """What a replay did, for summaries, storage and comparison with live runs."""

    events: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    orders_placed: int = 0
    cancels: int = 0
    equity_curve: list[EquityPoint] = field(default_factory=list)

    def summary(self, engine: GridEngine, broker: SimBroker) -> dict[str, object]:
        """Headline numbers, as JSON-friendly values (decimals as strings)."""
        long_book, short_book = broker.positions[LONG_IDX], broker.positions[SHORT_IDX]
        realised = sum((f.realised_pnl for f in broker.fills), Decimal(0))
        money = _money
        return {
            "events": self.events,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "orders_placed": self.orders_placed,
            "cancels": self.cancels,
            "fills": len(broker.fills),
            "buy_fills": sum(1 for f in broker.fills if f.side == "Buy"),
            "sell_fills": sum(1 for f in broker.fills if f.side == "Sell"),
            "realised_pnl": money(realised),
            "fees": money(broker.fees_paid),
            "funding": money(broker.funding_paid),
            "unrealised_pnl": money(broker.unrealised_pnl()),
            "final_balance": money(broker.balance),
            "final_equity": money(broker.equity()),
            "long_size": str(long_book.size),
            "long_entry": money(long_book.avg_entry),
            "short_size": str(short_book.size),
            "short_entry": money(short_book.avg_entry),
            "last_price": str(broker.last_price),
            "grid_builds": engine.grid.builds,
            "same_order_latch": engine.latch.is_set,
        }


def _money(value: Decimal) -> str:
    """A decimal for reports: 8 places, enough for USDT and BTC, stable across runs, in
    fixed-point notation (``str`` would print a quantized zero as ``0E-8``)."""
    return format(value.quantize(_EIGHT_PLACES), "f")


_EIGHT_PLACES = Decimal("1e-8")


class ReplayLoop:
    """The per-event step both replays share: broker answers, engine step, intents, equity."""

    def __init__(self, engine: GridEngine, broker: SimBroker, equity_interval_ms: int) -> None:
        if equity_interval_ms <= 0:
            raise ValueError(f"equity_interval_ms: must be > 0, got {equity_interval_ms}")
        self.engine = engine
        self.broker = broker
        self.result = ReplayResult()
        self.equity_interval_ms = equity_interval_ms
        self.next_equity_ts: int | None = None

    def process(self, event: object, ts: int) -> None:
        """Run one market event at exchange time ``ts`` through broker and engine."""
        feed, broker, result = self.engine.on_event, self.broker, self.result
        if result.first_ts is None:
            result.first_ts = ts
            self.next_equity_ts = ts
            for answer in broker.initial_events(ts):
                feed(answer)
        for answer in broker.advance(ts):
            feed(answer)
        for answer in broker.on_market(event):
            feed(answer)
        intents = feed(event)
        if intents:
            result.orders_placed += sum(isinstance(i, PlaceLimitIntent) for i in intents)
            result.cancels += sum(isinstance(i, CancelIntent) for i in intents)
            for answer in broker.submit(intents, ts):
                feed(answer)
        if self.next_equity_ts is not None and ts >= self.next_equity_ts:
            unrealised = broker.unrealised_pnl()
            result.equity_curve.append(
                EquityPoint(ts, broker.balance, unrealised, broker.balance + unrealised)
            )
            self.next_equity_ts = ts + self.equity_interval_ms
        result.events += 1
        result.last_ts = ts

    def finish(self) -> ReplayResult:
        """Deliver what the broker still holds from the last fills (their order, position
        and wallet updates, ``SimBroker.release``); the result."""
        for answer in self.broker.release():
            self.engine.on_event(answer)
        return self.result


def replay(
    events: Iterable[object],
    engine: GridEngine,
    broker: SimBroker,
    *,
    equity_interval_ms: int = 60_000,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> ReplayResult:
    """Run ``events`` (market events in replay order) one by one; the reference replay."""
    loop = ReplayLoop(engine, broker, equity_interval_ms)
    for event in events:
        loop.process(event, event.exchange_ts)  # type: ignore[attr-defined]
        if progress is not None and loop.result.events % progress_every == 0:
            progress(loop.result.events)
    return loop.finish()
