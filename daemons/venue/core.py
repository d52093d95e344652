"""The venue without its network: accounts, markets, matching and funding in one place.

The server drives a :class:`VenueCore` from the tape task and the REST handlers (all on
one event loop, so no locks); tests drive it directly to prove matching and determinism.
Each listed symbol is a :class:`Listing` (its market, order book and funding clock);
accounts and the private outbox are shared by all of them.
"""

from __future__ import annotations

from daemons.marketdata.trade import Trade
from daemons.venue.accounts import Account
from daemons.venue.config import VenueConfig
from daemons.venue.errors import bad_param
from daemons.venue.funding import FundingClock, settle_funding
from daemons.venue.instruments import Instrument
from daemons.venue.market import MarketState
from daemons.venue.matching import MatchingEngine, Outbox

FIRST_UID = 100001


class Listing:
    """One listed symbol: its market state, matching engine and funding clock."""

    def __init__(self, config: VenueConfig, inst: Instrument, accounts: dict[str, Account],
                 outbox: Outbox) -> None:
        self.inst = inst
        self.funding_rate = config.funding_rate
        self.market = MarketState(inst, config.funding_rate)
        self.engine = MatchingEngine(config, inst, accounts, self.market, outbox)
        self.funding = FundingClock(config.funding_interval_s)
        self._tick = float(inst.tick_size)
        self._step = float(inst.qty_step)

    @property
    def symbol(self) -> str:
        return self.inst.symbol

    def ticks(self, price: float) -> int:
        return round(price / self._tick)

    def lots(self, size: float) -> int:
        return max(1, round(size / self._step))

    def feed(self, trade: Trade, venue_ms: int) -> None:
        """Play one tape trade at venue time ``venue_ms``; settle funding at boundaries."""
        if self.funding.crossed(trade.ts_ms):
            self.engine.advance(venue_ms)
            settle_funding(self.engine, self.funding_rate, venue_ms)
        self.engine.on_trade(venue_ms, trade.side, self.ticks(trade.price), self.lots(trade.size))

    def prime(self, trade: Trade) -> None:
        """Set the touch from the tape's first trade before anything is published."""
        self.market.seed_price(self.ticks(trade.price), trade.side)
        self.funding.crossed(trade.ts_ms)


class VenueCore:
    """All venue state; methods take the venue time explicitly (deterministic tests)."""

    def __init__(self, config: VenueConfig) -> None:
        self.config = config
        self.accounts: dict[str, Account] = {}
        self.by_key: dict[str, Account] = {}
        for number, spec in enumerate(config.accounts):
            acct = Account(spec, FIRST_UID + number, config.symbols)
            self.accounts[spec.name] = acct
            self.by_key.update(dict.fromkeys(spec.keys(), acct))
        if len(self.accounts) != len(config.accounts):
            raise ValueError("account names must be unique")
        self.outbox = Outbox()
        self.listings = {inst.symbol: Listing(config, inst, self.accounts, self.outbox)
                         for inst in config.symbols}
        self.first = self.listings[config.symbols[0].symbol]
        self.order_seq = 0

    @property
    def market(self) -> MarketState:
        """The first listed symbol's market (the venue's default symbol)."""
        return self.first.market

    @property
    def engine(self) -> MatchingEngine:
        """The first listed symbol's matching engine."""
        return self.first.engine

    def listing(self, symbol: object) -> Listing:
        """The listing of ``symbol``, else Bybit's 10001 "symbol invalid"."""
        found = self.listings.get(symbol) if isinstance(symbol, str) else None
        if found is None:
            raise bad_param("params error: symbol invalid")
        return found

    def marks(self) -> dict[str, int]:
        """Each symbol's last price in its ticks: what margin and PnL are marked at."""
        return {symbol: listing.market.last_ticks for symbol, listing in self.listings.items()}

    def next_seq(self) -> int:
        self.order_seq += 1
        return self.order_seq
