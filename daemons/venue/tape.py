"""The tapes: where each symbol's trades come from, and the task that plays them.

``generated`` is the seeded generator calibrated on the bundled trades, ``bars`` the
bundled month of one-minute bars filled in with generated trades, and a path is either a
bars CSV (``timestamp,open,high,low,close,volume``) or a trades CSV (Bybit's public dump
or the bundled Binance format), detected from its header.

Every listed symbol plays its own tape: the chosen one scaled to the symbol (prices times
its ratio, sizes divided by it, so a trade keeps its notional), from its own seed, at its
own trade rate. The bundled data is BTCUSDT's, so each symbol's ratio is its
``price_ratio``; a file is the first listed symbol's market, and the others are scaled
relative to it. One clock plays all of them, each tape shifted to start now.
"""

from __future__ import annotations

import asyncio
import csv
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from daemons.marketdata.bars import BAR_COLUMNS, Bar, iter_bars, open_text
from daemons.marketdata.generator import (
    Calibration,
    bundled_calibration,
    generate_trades,
    trades_from_bars,
)
from daemons.marketdata.trade import Trade
from daemons.marketdata.trades_csv import iter_trades_csv, streams_rows
from daemons.venue.clock import TapeClock, wall_ms
from daemons.venue.config import ConfigError, VenueConfig
from daemons.venue.core import Listing, VenueCore

MAX_BATCH = 2000
IDLE_S = 0.01
MIN_STEP_S = 0.004  # prints due within this are pushed together, as Bybit batches them
BUNDLED = ("generated", "bars")
log = logging.getLogger(__name__)


def scaled_calibration(cal: Calibration, ratio: float, rate: float) -> Calibration:
    """The calibration of a market ``ratio`` times the price level, ``rate`` times as busy:
    prices and tick moves scaled, sizes divided (same notional), gaps stretched."""
    return replace(cal, sizes=cal.sizes / ratio, gaps_ms=cal.gaps_ms / rate,
                   tick=cal.tick * ratio, first_price=cal.first_price * ratio)


def scaled_bars(bars: Iterable[Bar], ratio: float, rate: float) -> Iterator[Bar]:
    """Bars at ``ratio`` times the price; the quote volume times ``rate`` (fewer trades)."""
    for bar in bars:
        yield Bar(bar.ts_ms, bar.open * ratio, bar.high * ratio, bar.low * ratio,
                  bar.close * ratio, bar.volume * rate)


def scaled_trades(trades: Iterable[Trade], ratio: float) -> Iterator[Trade]:
    """A trade file's trades at ``ratio`` times the price, each keeping its notional."""
    for t in trades:
        yield Trade(t.ts_ms, t.trade_id, t.side, t.price * ratio, t.size / ratio)


def open_tape(kind: str, seed: int, ratio: float = 1.0, rate: float = 1.0) -> Iterator[Trade]:
    """The trade iterator for a ``--tape`` value scaled by ``ratio`` at ``rate`` times the
    trade rate (a trades file keeps its own rate); raises ConfigError for a bad file."""
    if kind == "generated":
        calibration = scaled_calibration(bundled_calibration(), ratio, rate)
        return generate_trades(seed, start_ms=wall_ms(), calibration=calibration, chunk=2048)
    if kind == "bars":
        return trades_from_bars(scaled_bars(iter_bars(), ratio, rate), seed,
                                scaled_calibration(bundled_calibration(), ratio, 1.0))
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
        is_bars = BAR_COLUMNS <= header
        # Every row is checked before the venue serves (a bad row found while playing would
        # stop the tape mid-session); a streamed file is then read again as rows are due
        # (a newest-first trades file is read and checked whole by iter_trades_csv itself).
        if is_bars or streams_rows(path):
            deque(iter_bars(path) if is_bars else iter_trades_csv(path), maxlen=0)
        if is_bars:
            return trades_from_bars(scaled_bars(iter_bars(path), ratio, rate), seed,
                                    scaled_calibration(bundled_calibration(), ratio, 1.0))
        # the header now; rows as they are due (a newest-first file is read whole here)
        trades = iter_trades_csv(path)
        return trades if ratio == 1.0 else scaled_trades(trades, ratio)
    except (ValueError, OSError) as e:  # a binary file, a bad row, a path too long
        raise ConfigError(f"tape: {_shown(str(e))}") from None


def symbol_tapes(config: VenueConfig) -> dict[str, Iterator[Trade]]:
    """Each listed symbol's tape, from ``config.tape``, seeded ``seed + position``."""
    base = 1.0 if config.tape in BUNDLED else config.symbols[0].price_ratio
    return {inst.symbol: open_tape(config.tape, config.seed + number,
                                   inst.price_ratio / base, inst.trade_rate)
            for number, inst in enumerate(config.symbols)}


def _shown(text: str) -> str:
    """``text`` cut to 120 characters: a 10k-character --tape must not flood the error."""
    return text if len(text) <= 120 else f"{text[:120]}... ({len(text)} characters)"


@dataclass
class SymbolTape:
    """One symbol's trades; ``offset`` (tape ms) makes its first trade start with the first
    symbol's, so that one clock plays every tape."""

    listing: Listing
    trades: Iterator[Trade]
    next: Trade | None
    offset: int = 0
    fed: int = 0
    boundary: int = 0


class TapeDriver:
    """Feeds every symbol's due trades into the core and publishes after every step."""

    def __init__(self, core: VenueCore, clock: TapeClock, sources: Mapping[str, Iterator[Trade]],
                 publish: Callable[[], None]) -> None:
        self.clock = clock
        self.publish = publish
        self.failure: str | None = None
        self.tapes: dict[str, SymbolTape] = {}
        anchor: int | None = None
        for symbol, listing in core.listings.items():
            trades = sources.get(symbol, iter(()))  # a symbol without a tape stays quiet
            tape = SymbolTape(listing, trades, next(trades, None))
            self.tapes[symbol] = tape
            if tape.next is None:
                continue
            tape.listing.prime(tape.next)
            if anchor is None:
                anchor = tape.next.ts_ms
                clock.anchor(anchor)
            tape.offset = anchor - tape.next.ts_ms
            self._funding_time(tape, tape.next.ts_ms)

    @property
    def fed(self) -> int:
        """Trades played, every symbol's."""
        return sum(tape.fed for tape in self.tapes.values())

    def _funding_time(self, tape: SymbolTape, tape_ms: int) -> None:
        tape.boundary = tape.listing.funding.next_boundary(tape_ms)
        tape.listing.market.next_funding_ms = self.clock.venue_ms(tape.boundary + tape.offset)

    def tape_ms(self, symbol: str, venue_ms: int) -> int:
        """``symbol``'s own tape time at venue time ``venue_ms``."""
        return self.clock.tape_ms(venue_ms) - self.tapes[symbol].offset

    def inject(self, symbol: str, trade: Trade) -> None:
        """Play one extra trade of ``symbol`` now (the admin interface's deterministic fills)."""
        self.tapes[symbol].listing.feed(trade, self.clock.now())
        self.publish()

    def _play(self, tape: SymbolTape, now: int) -> None:
        """Feed ``tape``'s trades due by ``now`` (at most ``MAX_BATCH``)."""
        listing, venue_ms = tape.listing, self.clock.venue_ms
        count = 0
        while tape.next is not None and count < MAX_BATCH:
            due = venue_ms(tape.next.ts_ms + tape.offset)
            if due > now:
                break
            listing.feed(tape.next, due)
            tape.fed += 1  # counted at once: fetching the next trade may raise
            if tape.next.ts_ms >= tape.boundary:
                self._funding_time(tape, tape.next.ts_ms)
            tape.next = next(tape.trades, None)
            count += 1

    def step(self, now: int | None = None) -> float:
        """Play every trade due by ``now`` (the clock's time when None) and publish; return
        how long to sleep before the next one."""
        now = self.clock.now() if now is None else now
        tapes = self.tapes.values()
        if not self.clock.paused:
            for tape in tapes:
                self._play(tape, now)
        for tape in tapes:
            tape.listing.engine.advance(now)
        self.publish()
        due = self._next_due_ms()
        if self.clock.paused or due is None:
            return IDLE_S
        return min(max((due - now) / 1000, MIN_STEP_S), IDLE_S)

    def _next_due_ms(self) -> int | None:
        """When the earliest unplayed trade of any tape is due (venue time), if any."""
        due = [tape.next.ts_ms + tape.offset for tape in self.tapes.values()
               if tape.next is not None]
        return self.clock.venue_ms(min(due)) if due else None

    def symbol_state(self, symbol: str) -> str:
        """``playing`` or ``ended`` for one symbol's tape."""
        return "ended" if self.tapes[symbol].next is None else "playing"

    def state(self) -> str:
        """``playing``, ``paused``, ``ended`` (every tape) or ``failed: <why>``, for
        /admin/status."""
        if self.failure is not None:
            return self.failure
        if self.clock.paused:
            return "paused"
        ended = all(tape.next is None for tape in self.tapes.values())
        return "ended" if ended else "playing"

    async def run(self) -> None:
        """Play the tapes until cancelled; a tape that breaks says so instead of dying.

        File tapes are parsed lazily, so a bad row far into a file surfaces here; an
        unhandled exception would end this task silently while the venue kept serving a
        market that had stopped.
        """
        while self.failure is None:
            await asyncio.sleep(self._guarded_step(None))

    def catch_up(self, now: int) -> None:
        """Play and publish every trade due by ``now`` before something stamped ``now``
        goes out (a ticker): the loop's own step may be running late, by more than one
        step's batch."""
        while self.failure is None:
            self._guarded_step(now)
            due = self._next_due_ms()
            if self.clock.paused or due is None or due > now:
                return

    def _guarded_step(self, now: int | None) -> float:
        try:
            return self.step(now)
        except Exception as e:
            self.failure = f"failed: {type(e).__name__}: {e}"
            log.error("venue tape stopped after %d trades: %s", self.fed, self.failure,
                      exc_info=True)
            return IDLE_S
