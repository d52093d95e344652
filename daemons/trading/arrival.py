"""Exchange order for a shadow strategy's market: trades that overtook an earlier ticker wait.

A shadow strategy's simulated account is filled by public trades, its engine is stepped by
tickers, and a replay of its run steps both in exchange-time order (``Event.order_key``).
Over the wire the two topics race: a trade printed just after a ticker was stamped can
arrive before that ticker. Stepped in arrival order, the order that ticker places misses
the trade (the trade was gone before the order existed), while the replay, which sees the
ticker first, fills it, and every later decision of the two differs.

:class:`TradeHold` puts those trades back in order. A trade stamped later than the newest
ticker stepped waits until a ticker stamped at or after it arrives; that ticker first
releases the trades stamped up to its own time (at an equal millisecond a trade comes
first, as in replay order), then is stepped itself. Tickers are never held, so the engine
decides as soon as they arrive; on a live exchange every trade changes the ticker (last
price, volume), so a trade waits at most one ticker interval. A trade held longer than
:data:`HOLD_LIMIT_NS` (a ticker stream gone quiet) is released anyway, late rather than
never (all the held trades then go: their ticker is not coming soon). Trades that arrive
after a later ticker was already stepped cannot be put back, and go on at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gridcore.events import PublicTradeEvent, TickerEvent

#: How long a trade may wait for its ticker (wall time): ten of Bybit's 100 ms ticker pushes.
HOLD_LIMIT_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Arrival:
    """A market event as the feed delivered it, ``receipt_ns`` when it was received (its
    place in its millisecond is counted when it is stepped: the feed counts in arrival
    order, and the snapshot's cut needs the order stepped)."""

    event: TickerEvent | PublicTradeEvent
    receipt_ns: int


class TradeHold:
    """The trades of one symbol held for a ticker stamped at or after them.

    A trade's wait is timed from when it was held (``clock``, nanoseconds), not from its
    receipt: a worker behind its queue handles a trade long after receiving it, and its
    ticker is then next in the queue, not missing.
    """

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self._clock = clock
        self._held: list[tuple[Arrival, int]] = []
        self._ticker_ms = -1

    def __len__(self) -> int:
        return len(self._held)

    def admit(self, arrival: Arrival) -> list[Arrival]:
        """What to step now, in exchange order: ``arrival`` itself, preceded by the trades
        a ticker releases; nothing when ``arrival`` is a trade ahead of every ticker."""
        event = arrival.event
        if isinstance(event, TickerEvent):
            self._ticker_ms = max(self._ticker_ms, event.exchange_ts)
            return self._release(self._ticker_ms) + [arrival]
        if event.exchange_ts > self._ticker_ms:
            self._held.append((arrival, self._clock()))
            return []
        return [arrival]

    def overdue(self, limit_ns: int = HOLD_LIMIT_NS) -> list[Arrival]:
        """The held trades, in exchange order, once the oldest has waited ``limit_ns``."""
        if self._held and self._clock() - self._held[0][1] >= limit_ns:
            return self.drain()
        return []

    def drain(self) -> list[Arrival]:
        """Every held trade, in exchange order (the run is ending, or the stream went quiet)."""
        return self._release(None)

    def _release(self, up_to_ms: int | None) -> list[Arrival]:
        due: list[Arrival] = []
        kept: list[tuple[Arrival, int]] = []
        for held in self._held:
            ready = up_to_ms is None or held[0].event.exchange_ts <= up_to_ms
            if ready:
                due.append(held[0])
            else:
                kept.append(held)
        self._held = kept
        return sorted(due, key=lambda a: a.event.exchange_ts)  # stable: arrival order within
