"""The venue without its network: accounts, market, matching and funding in one place.

The server drives a :class:`VenueCore` from the tape task and the REST handlers (all on
one event loop, so no locks); tests drive it directly to prove matching and determinism.
"""

from __future__ import annotations

from daemons.marketdata.trade import Trade
from daemons.venue.accounts import Account
from daemons.venue.config import VenueConfig
from daemons.venue.funding import FundingClock, settle_funding
from daemons.venue.market import MarketState
from daemons.venue.matching import MatchingEngine

FIRST_UID = 100001


class VenueCore:
    """All venue state; methods take the venue time explicitly (deterministic tests)."""

    def __init__(self, config: VenueConfig) -> None:
        self.config = config
        self.accounts: dict[str, Account] = {}
        self.by_key: dict[str, Account] = {}
        for number, spec in enumerate(config.accounts):
            acct = Account(spec, FIRST_UID + number, config.tick_size, config.qty_step,
                           config.symbol)
            self.accounts[spec.name] = acct
            self.by_key.update(dict.fromkeys(spec.keys(), acct))
        if len(self.accounts) != len(config.accounts):
            raise ValueError("account names must be unique")
        self.market = MarketState(config.symbol, config.tick_size, config.qty_step,
                                  config.funding_rate)
        self.engine = MatchingEngine(config, self.accounts, self.market)
        self.funding = FundingClock(config.funding_interval_s)
        self._tick = float(config.tick_size)
        self._step = float(config.qty_step)
        self.order_seq = 0

    def ticks(self, price: float) -> int:
        return round(price / self._tick)

    def lots(self, size: float) -> int:
        return max(1, round(size / self._step))

    def feed(self, trade: Trade, venue_ms: int) -> None:
        """Play one tape trade at venue time ``venue_ms``; settle funding at boundaries."""
        if self.funding.crossed(trade.ts_ms):
            self.engine.advance(venue_ms)
            settle_funding(self.engine, self.config.funding_rate, venue_ms)
        self.engine.on_trade(venue_ms, trade.side, self.ticks(trade.price), self.lots(trade.size))

    def prime(self, trade: Trade) -> None:
        """Set the touch from the tape's first trade before anything is published."""
        self.market.seed_price(self.ticks(trade.price), trade.side)
        self.funding.crossed(trade.ts_ms)

    def next_seq(self) -> int:
        self.order_seq += 1
        return self.order_seq
