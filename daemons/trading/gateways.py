"""Where intents go: the exchange (live) or a simulated account filled by live trades (shadow).

Live: :class:`LiveGateway` hands each intent to the account's
:class:`~daemons.trading.executor.LiveExecutor` and measures the decision latency, from the
receipt of the event that caused it to the moment the request is sent.

Shadow: :class:`ShadowGateway` runs the backtest's own simulated broker
(:class:`gridcore.sim.broker.SimBroker`) with a fill model, fed in real time with the live
public trades and tickers of the symbol. The engine cannot tell it from an exchange; its
fills are stored as the run's ``sim_executions``, so the comparison can read a forward test
beside a live run. (A shadow strategy never sends an order and never sees the account's
real orders or fills.)
"""

from __future__ import annotations

import time
from collections import deque
from decimal import Decimal
from typing import TYPE_CHECKING

from daemons.backtest.store import sim_execution_row
from daemons.trading.executor import LiveExecutor
from gridcore.events import Event, PublicTradeEvent, TickerEvent
from gridcore.intents import Intent, PlaceLimitIntent
from gridcore.sim.broker import SimBroker
from gridcore.sim.models import make_fill_model

if TYPE_CHECKING:
    from daemons.trading.records import RowSink
    from daemons.trading.runtime import StrategyRuntime

#: Decision latencies kept for the status percentiles (the newest ones).
LATENCY_WINDOW = 2048


class LatencyLog:
    """The newest decision latencies (ms), for p50/p99 in status and the bench."""

    def __init__(self, window: int = LATENCY_WINDOW) -> None:
        self.samples: deque[float] = deque(maxlen=window)
        self.count = 0

    def add(self, ms: float) -> None:
        self.samples.append(ms)
        self.count += 1

    def clear(self) -> None:
        """Start a new window (after a warm-up, say); the count keeps going."""
        self.samples.clear()

    def percentile(self, q: float) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LiveGateway:
    """Intents to the exchange through the account's executor.

    Two latencies: ``latency`` (the decision latency) is measured for the first request an
    event causes, from its receipt to that request being sent; ``queued`` for every
    request, which also counts the wait of the later requests of a burst behind the
    account's rate limit (10 order requests per second on Bybit).
    """

    def __init__(self, executor: LiveExecutor, latency: LatencyLog) -> None:
        self.executor = executor
        self.latency = latency
        self.queued = LatencyLog()
        self._last_receipt = 0

    def send(self, runtime: StrategyRuntime, intent: Intent, sent_ts: int,
             receipt_ns: int) -> list[Event]:
        if receipt_ns:
            ms = (time.perf_counter_ns() - receipt_ns) / 1e6
            self.queued.add(ms)
            if receipt_ns != self._last_receipt:
                self._last_receipt = receipt_ns
                self.latency.add(ms)
        if isinstance(intent, PlaceLimitIntent):
            return self.executor.place(intent)
        return self.executor.cancel(intent)


class ShadowGateway:
    """A simulated account for one shadow strategy, filled by the live market."""

    def __init__(self, symbol: str, fill_model: str, balance: Decimal, *,
                 sink: RowSink, user_id, run_id, queue_ahead: float = 0.0,
                 maker_fee_rate: Decimal = Decimal("0.0002")) -> None:
        self.broker = SimBroker(symbol, make_fill_model(fill_model, queue_ahead=queue_ahead),
                                starting_balance=balance, maker_fee_rate=maker_fee_rate)
        self.fill_model = fill_model
        self._sink = sink
        self._user_id = user_id
        self._run_id = run_id
        self._stored = 0
        self._started = False

    def start(self, ts: int) -> list[Event]:
        """The simulated account's opening position and wallet events."""
        self._started = True
        return list(self.broker.initial_events(ts))

    def send(self, runtime: StrategyRuntime, intent: Intent, sent_ts: int,
             receipt_ns: int) -> list[Event]:
        return self._store(self.broker.submit([intent], sent_ts))

    def on_market(self, event: TickerEvent | PublicTradeEvent) -> list[Event]:
        """Let the market print reach the simulated book; return the account events."""
        answers = list(self.broker.advance(event.exchange_ts))
        answers += self.broker.on_market(event)
        return self._store(answers)

    def release(self) -> list[Event]:
        """The updates the simulated account holds back from its last millisecond's fills
        (``SimBroker.release``): due before a snapshot, which cuts between milliseconds, so
        that the engine state it stores has seen them, as a replay's engine will have."""
        return self._store(self.broker.release())

    def _store(self, answers: list[Event]) -> list[Event]:
        fills = self.broker.fills
        if len(fills) > self._stored:
            self._sink.put(self._user_id, "sim_executions", [
                sim_execution_row(self._run_id, n, f)
                for n, f in enumerate(fills[self._stored:], start=self._stored + 1)])
            self._stored = len(fills)
        return answers
