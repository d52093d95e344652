"""The vectorised replay: step only through the events that can change something.

A grid changes its orders rarely compared with how often the market prints. Between two
such moments, a trade that reaches no resting order and a ticker inside the engine's
quiet bounds (:meth:`GridEngine.quiet_price_bounds`) change nothing but the last price.
This replay scans the tape's columns with numpy for the next event that might matter:

* a funding row;
* a trade at or through the best resting BUY or SELL (and a ticker too, for a model that
  fills on tickers);
* a ticker outside the engine's quiet bounds, or at or after a due position check;
* the first row at or after a request lands (latency) or an equity sample is due.

While the broker holds a millisecond's updates (``SimBroker.release``), a scan stops at
the end of that millisecond's trades: the engine has not seen those updates yet, so
whether a later ticker is quiet cannot be judged before they are delivered.

That event goes through :class:`~gridcore.sim.replay.ReplayLoop` exactly as in the
per-event reference replay, so both give the same fills, PnL and equity curve (tests
compare them on every fill model). The bounds are conservative: an event flagged here
may turn out quiet, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

import numpy as np

from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.replay import ReplayLoop, ReplayResult
from gridcore.sim.tape import FUNDING, TICKER, TRADE, MarketTape

_FIRST_WINDOW = 256
_MAX_WINDOW = 1 << 16
_NEVER = np.iinfo(np.int64).max


class _Columns:
    """Per-kind views of a tape, computed once so each scan is a few comparisons."""

    def __init__(self, tape: MarketTape) -> None:
        is_ticker = tape.kind == TICKER
        self.ts = tape.ts
        self.ticker_price = np.where(is_ticker, tape.price, np.nan)
        self.trade_price = np.where(tape.kind == TRADE, tape.price, np.nan)
        self.ticker_ts = np.where(is_ticker, tape.ts, -1)
        self.is_funding = tape.kind == FUNDING
        self.is_ticker = is_ticker
        self.is_trade = tape.kind == TRADE


def replay_tape(
    tapes: Iterable[MarketTape],
    engine: GridEngine,
    broker: SimBroker,
    *,
    equity_interval_ms: int = 60_000,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay ``tapes`` (consecutive chunks of one symbol, in order) through the engine."""
    loop = ReplayLoop(engine, broker, equity_interval_ms)
    for tape in tapes:
        _replay_chunk(tape, loop)
        if progress is not None:
            progress(loop.result.events)
    return loop.finish()


def _replay_chunk(tape: MarketTape, loop: ReplayLoop) -> None:
    columns = _Columns(tape)
    n = len(tape)
    i = 0
    while i < n:
        end = _held_trades_end(columns, i, n, loop)
        j = _next_trigger(columns, i, end, loop) if loop.result.first_ts is not None else i
        if j > i:
            _skip(tape, columns, i, j, loop)
        if j < end:
            loop.process(tape.event(j), int(tape.ts[j]))
            i = j + 1
        elif end < n:  # the held millisecond's trades were quiet: deliver its updates
            for answer in loop.broker.release():
                loop.engine.on_event(answer)
            i = end
        else:
            i = n


def _held_trades_end(columns: _Columns, start: int, n: int, loop: ReplayLoop) -> int:
    """Where the trades of the millisecond the broker holds end, from ``start`` (``n``
    when nothing is held or they run to the chunk's end)."""
    held = loop.broker.holding
    if held is None:
        return n
    stop = start
    while stop < n and columns.ts[stop] == held and columns.is_trade[stop]:
        stop += 1
    return stop


def _next_trigger(columns: _Columns, start: int, n: int, loop: ReplayLoop) -> int:
    """Index of the first row at or after ``start`` that may change something (or ``n``)."""
    engine, broker = loop.engine, loop.broker
    best_buy, best_sell = broker.best_prices()
    bounds = engine.quiet_price_bounds()
    if bounds is None:
        low, high, check_due = np.inf, -np.inf, _NEVER
    else:
        low, high, check_due = bounds[0], bounds[1], bounds[2] if bounds[2] is not None else _NEVER
    if broker.fill_model.uses_tickers:
        low, high = max(low, best_buy), min(high, best_sell)
    due = min(loop.next_equity_ts if loop.next_equity_ts is not None else _NEVER,
              broker.next_due_ts() or _NEVER)
    window = _FIRST_WINDOW
    while start < n:
        stop = min(n, start + window)
        tick = columns.ticker_price[start:stop]
        trade = columns.trade_price[start:stop]
        hit = columns.is_funding[start:stop] | (columns.ts[start:stop] >= due)
        hit |= (trade <= best_buy) | (trade >= best_sell)
        hit |= (tick <= low) | (tick >= high) | (columns.ticker_ts[start:stop] >= check_due)
        first = int(hit.argmax())
        if hit[first]:
            return start + first
        start, window = stop, min(window * 4, _MAX_WINDOW)
    return n


def _skip(tape: MarketTape, columns: _Columns, start: int, stop: int, loop: ReplayLoop) -> None:
    """Rows ``start:stop`` are quiet: only the last prices and the counters move."""
    tickers = np.flatnonzero(columns.is_ticker[start:stop])
    if len(tickers):
        loop.engine.skip_quiet_tickers(len(tickers), float(tape.price[start + tickers[-1]]))
    prints = np.flatnonzero(~columns.is_funding[start:stop])
    if len(prints):
        loop.broker.last_price = Decimal(repr(float(tape.price[start + prints[-1]])))
    loop.result.events += stop - start
    loop.result.last_ts = int(tape.ts[stop - 1])
