"""The tape: where trades come from, and the task that plays them in venue time.

``generated`` is the seeded generator calibrated on the bundled trades, ``bars`` the
bundled month of one-minute bars filled in with generated trades, and a path is either a
bars CSV (``timestamp,open,high,low,close,volume``) or a trades CSV (Bybit's public dump
or the bundled Binance format), detected from its header.
"""

from __future__ import annotations

import asyncio
import csv
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from daemons.marketdata.bars import BAR_COLUMNS, iter_bars, open_text
from daemons.marketdata.generator import generate_trades, trades_from_bars
from daemons.marketdata.trade import Trade
from daemons.marketdata.trades_csv import iter_trades_csv
from daemons.venue.clock import TapeClock, wall_ms
from daemons.venue.config import ConfigError
from daemons.venue.core import VenueCore

MAX_BATCH = 2000
IDLE_S = 0.01
MIN_STEP_S = 0.004  # prints due within this are pushed together, as Bybit batches them
log = logging.getLogger(__name__)


def open_tape(kind: str, seed: int) -> Iterator[Trade]:
    """The trade iterator for a ``--tape`` value; raises ConfigError for a bad file."""
    if kind == "generated":
        return generate_trades(seed, start_ms=wall_ms(), chunk=2048)
    if kind == "bars":
        return trades_from_bars(iter_bars(), seed)
    path = Path(kind)
    try:
        is_file = path.is_file()
    except OSError:  # a name too long for the file system
        is_file = False
    if not is_file:
        raise ConfigError(f"tape: {_shown(repr(kind))} is not 'generated', 'bars' or an "
                          "existing file")
    try:
        with open_text(path) as handle:
            header = set(next(csv.reader(handle), []))
        if BAR_COLUMNS <= header:
            return trades_from_bars(iter_bars(path), seed)
        # the header now; rows as they are due (a newest-first file is read whole here)
        return iter_trades_csv(path)
    except (ValueError, OSError) as e:  # a binary file, a bad row, a path too long
        raise ConfigError(f"tape: {_shown(str(e))}") from None


def _shown(text: str) -> str:
    """``text`` cut to 120 characters: a 10k-character --tape must not flood the error."""
    return text if len(text) <= 120 else f"{text[:120]}... ({len(text)} characters)"


class TapeDriver:
    """Feeds due trades into the core and publishes after every step."""

    def __init__(self, core: VenueCore, clock: TapeClock, trades: Iterator[Trade],
                 publish: Callable[[], None]) -> None:
        self.core = core
        self.clock = clock
        self.trades = trades
        self.publish = publish
        self.next: Trade | None = next(trades, None)
        self.fed = 0
        self.failure: str | None = None
        self._boundary = 0
        if self.next is not None:
            core.prime(self.next)
            clock.anchor(self.next.ts_ms)
            self._funding_time(self.next.ts_ms)

    def _funding_time(self, tape_ms: int) -> None:
        self._boundary = self.core.funding.next_boundary(tape_ms)
        self.core.market.next_funding_ms = self.clock.venue_ms(self._boundary)

    def inject(self, trade: Trade) -> None:
        """Play one extra trade now (the admin interface's deterministic fills)."""
        self.core.feed(trade, self.clock.now())
        self.publish()

    def step(self) -> float:
        """Play every due trade; return how long to sleep before the next one."""
        now = self.clock.now()
        if not self.clock.paused:
            count = 0
            while self.next is not None and count < MAX_BATCH:
                due = self.clock.venue_ms(self.next.ts_ms)
                if due > now:
                    break
                self.core.feed(self.next, due)
                self.fed += 1  # counted at once: fetching the next trade may raise
                if self.next.ts_ms >= self._boundary:
                    self._funding_time(self.next.ts_ms)
                self.next = next(self.trades, None)
                count += 1
        self.core.engine.advance(now)
        self.publish()
        if self.clock.paused or self.next is None:
            return IDLE_S
        due_in = (self.clock.venue_ms(self.next.ts_ms) - now) / 1000
        return min(max(due_in, MIN_STEP_S), IDLE_S)

    def state(self) -> str:
        """``playing``, ``paused``, ``ended`` or ``failed: <why>``, for /admin/status."""
        if self.failure is not None:
            return self.failure
        if self.clock.paused:
            return "paused"
        return "ended" if self.next is None else "playing"

    async def run(self) -> None:
        """Play the tape until cancelled; a tape that breaks says so instead of dying.

        File tapes are parsed lazily, so a bad row far into a file surfaces here; an
        unhandled exception would end this task silently while the venue kept serving a
        market that had stopped.
        """
        try:
            while True:
                await asyncio.sleep(self.step())
        except Exception as e:
            self.failure = f"failed: {type(e).__name__}: {e}"
            log.error("venue tape stopped after %d trades: %s", self.fed, self.failure,
                      exc_info=True)
