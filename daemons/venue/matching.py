"""The matching engine: latency, crossing rules, taker sweeps and queue fills.

Time is venue milliseconds (wall-clock time the tape is mapped onto). Requests take
effect after a drawn latency, in time order with the tape's prints, so the same seed,
tape and orders always give the same fills. Nothing here touches I/O: it reports what
happened into ``prints`` (this symbol's public trades) and the venue-wide :class:`Outbox`
(private items), which the server publishes.

One engine per listed symbol: its own book, hidden depth, latency and seeded generators,
so that one symbol's orders never move another's draws. Accounts and the outbox are
shared: an account's executions in every symbol carry one increasing ``seq``.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from daemons.venue.accounts import Account
from daemons.venue.book import Book, Fill, consume
from daemons.venue.config import VenueConfig
from daemons.venue.instruments import Instrument
from daemons.venue.market import MarketState
from daemons.venue.models import DepthModel, LatencyModel
from daemons.venue.orders import Execution, Order, fast_id, new_id
from daemons.venue.payloads import execution_item, order_item

MARKET_SLIPPAGE = 0.05


@dataclass
class Outbox:
    """Private items since the last drain, venue-wide, and the execution sequence.

    ``dirty`` holds (account, symbol) pairs whose position and wallet changed.
    """

    private: list[tuple[str, str, dict]] = field(default_factory=list)
    dirty: set[tuple[str, str]] = field(default_factory=set)
    exec_seq: int = 0

    def next_exec_seq(self) -> int:
        self.exec_seq += 1
        return self.exec_seq


def seed_name(kind: str, seed: int, symbol: str) -> str:
    """The seed of one generator of one symbol: each symbol draws from its own."""
    return f"{kind}-{seed}-{symbol}"


class MatchingEngine:
    """Owns one symbol's book and pending requests; books fills into the accounts."""

    def __init__(
        self, config: VenueConfig, inst: Instrument, accounts: dict[str, Account],
        market: MarketState, outbox: Outbox,
    ) -> None:
        seed, symbol = config.seed, inst.symbol
        self.config = config
        self.inst = inst
        self.accounts = accounts
        self.market = market
        self.outbox = outbox
        self.prints: list[dict] = []
        self.book = Book()
        self.depth = DepthModel(random.Random(seed_name("depth", seed, symbol)),
                                config.depth_median_qty / inst.price_ratio, config.depth_sigma,
                                config.depth_growth_per_tick, float(inst.qty_step))
        self.latency = LatencyModel(random.Random(seed_name("latency", seed, symbol)),
                                    config.latency_ms_median, config.latency_ms_sigma)
        self.ids = random.Random(seed_name("ids", seed, symbol))
        self.print_ids = random.Random(seed_name("prints", seed, symbol))
        self.pending: list[tuple[int, int, str, Order]] = []
        self._counter = 0

    def _push(self, at_ms: int, kind: str, order: Order) -> None:
        self._counter += 1
        heapq.heappush(self.pending, (at_ms, self._counter, kind, order))

    def submit(self, order: Order, now_ms: int) -> None:
        """Accept a validated order; it reaches the book after its latency."""
        self.accounts[order.account].orders[order.order_id] = order
        self._push(now_ms + self.latency.draw(), "activate", order)

    def request_cancel(self, order: Order, now_ms: int) -> None:
        """Cancel after a latency; a fill in between wins, as on a real exchange."""
        order.cancel_pending = True
        self._push(now_ms + self.latency.draw(), "cancel", order)

    def advance(self, now_ms: int) -> None:
        """Carry out every request due at or before ``now_ms``."""
        while self.pending and self.pending[0][0] <= now_ms:
            at_ms, _, kind, order = heapq.heappop(self.pending)
            if kind == "activate":
                self._activate(order, at_ms)
            else:
                self._finish(order, at_ms, "Cancelled", "CancelByUser")

    def on_trade(self, ts_ms: int, side: str, ticks: int, lots: int) -> None:
        """One tape print: requests due first, then trade-through and queue fills."""
        if self.pending:
            self.advance(ts_ms)
        if not (self.book.buys.prices or self.book.sells.prices):
            self._print(ts_ms, side, ticks, lots, fast_id(self.print_ids))
            return
        through, at_price = self.book.trade(ticks, lots)
        for order, lots_filled in through:
            self._maker_fill(order, order.price_ticks, lots_filled, ts_ms)
        own = sum(self._maker_fill(o, ticks, f, ts_ms) for o, f in at_price)
        if lots > own:
            self._print(ts_ms, side, ticks, lots - own, fast_id(self.print_ids))

    def _print(self, ts_ms: int, side: str, ticks: int, lots: int, trade_id: str) -> None:
        self.prints.append(self.market.record_print(ts_ms, side, ticks, lots, trade_id))

    def _maker_fill(self, order: Order, ticks: int, lots: int, ts_ms: int) -> int:
        done, exec_id = self._fill(order, ticks, lots, True, ts_ms)
        self.book.prune(order)
        if done:
            self._print(ts_ms, "Sell" if order.is_buy else "Buy", ticks, done, exec_id)
        return done

    def _crosses(self, order: Order) -> bool:
        if order.order_type == "Market":
            return True
        if order.is_buy:
            return order.price_ticks >= self.market.ask_ticks
        return order.price_ticks <= self.market.bid_ticks

    def _activate(self, order: Order, now_ms: int) -> None:
        if not order.is_open:
            return
        if not self._crosses(order):
            order.status, order.updated_ms = "New", now_ms
            self.book.add(order, lambda: self.depth.draw(self._distance(order)))
            self._emit_order(order)
            return
        if order.time_in_force == "PostOnly" or (
            order.order_type == "Limit" and self.config.cross_policy == "reject"
        ):
            order.reject_reason = "EC_PostOnlyWillTakeLiquidity"
            self._finish(order, now_ms, "Cancelled", "UNKNOWN")
            return
        self._sweep(order, now_ms)
        if not order.is_open:
            return
        if order.order_type == "Market" or order.time_in_force in ("IOC", "FOK"):
            self._finish(order, now_ms, "Cancelled", "UNKNOWN")
        else:
            self.book.add(order, lambda: 0)
            if order.status == "Created":
                order.status = "New"
                self._emit_order(order)

    def _distance(self, order: Order) -> int:
        touch = self.market.bid_ticks if order.is_buy else self.market.ask_ticks
        return abs(touch - order.price_ticks)

    def _sweep(self, order: Order, now_ms: int) -> None:
        """Take liquidity level by level up to the limit (market: a 5 % band)."""
        opposite = self.book.side(not order.is_buy)
        step = 1 if order.is_buy else -1
        start = self.market.ask_ticks if order.is_buy else self.market.bid_ticks
        if opposite.prices:
            best = opposite.prices[0] if order.is_buy else opposite.prices[-1]
            start = min(start, best) if order.is_buy else max(start, best)
        band = max(1, int(start * MARKET_SLIPPAGE))
        limit = order.price_ticks if order.order_type == "Limit" else start + step * band
        price = start
        while order.is_open and order.leaves_lots > 0 and (price - limit) * step <= 0:
            level = opposite.levels.get(price)
            available = level.total() if level else self.depth.draw(abs(price - start))
            take = min(order.leaves_lots, available)
            if take == 0:
                price += step
                continue
            makers: list[Fill] = consume(level, take) if level else []
            for maker, lots in makers:
                self._maker_fill(maker, price, lots, now_ms)
            if level is not None and not level.orders:
                opposite.drop(price)
            done, exec_id = self._fill(order, price, take, False, now_ms)
            hidden = done - sum(lots for _, lots in makers)
            if hidden > 0:
                self._print(now_ms, order.side, price, hidden, exec_id)
            price += step

    def _fill(
        self, order: Order, ticks: int, lots: int, maker: bool, ts_ms: int,
    ) -> tuple[int, str]:
        """Book a fill of up to ``lots``; reduce orders are capped at the position size."""
        acct = self.accounts[order.account]
        inst = self.inst
        if not order.opens_position:
            lots = min(lots, acct.position(inst.symbol, order.position_idx).size_lots)
            if lots == 0:
                self._finish(order, ts_ms, "Cancelled", "CancelByReduceOnly")
                return 0, ""
        fee, rate, closed, pnl = acct.apply_fill(order, ticks, lots, maker, ts_ms)
        price, qty = inst.price(ticks), inst.qty(lots)
        order.leaves_lots -= lots
        order.cum_lots += lots
        order.cum_value += price * qty
        order.cum_fee += fee
        order.status = "Filled" if order.leaves_lots == 0 else "PartiallyFilled"
        order.updated_ms = ts_ms
        exe = Execution(
            exec_id=new_id(self.ids), account=acct.name, inst=inst,
            order_id=order.order_id, order_link_id=order.order_link_id, side=order.side,
            order_type=order.order_type, order_price=inst.price(order.price_ticks),
            order_qty=inst.qty(order.qty_lots), exec_price=price, exec_qty=qty, exec_fee=fee,
            fee_rate=rate, is_maker=maker, closed_size=closed, exec_pnl=pnl,
            leaves_qty=inst.qty(order.leaves_lots), mark_price=inst.price(self.market.last_ticks),
            exec_time_ms=ts_ms, seq=self.outbox.next_exec_seq(),
        )
        self.record_execution(acct, exe)
        self._emit_order(order)
        return lots, exe.exec_id

    def record_execution(self, acct: Account, exe: Execution) -> None:
        """Keep an execution for REST queries and publish it on the private stream."""
        acct.executions.append(exe)
        self.outbox.private.append((acct.name, "execution", execution_item(exe, ws=True)))
        self.outbox.dirty.add((acct.name, exe.symbol))

    def _finish(self, order: Order, now_ms: int, status: str, cancel_type: str) -> None:
        if not order.is_open:
            return
        self.book.remove(order)
        order.status, order.cancel_type, order.updated_ms = status, cancel_type, now_ms
        self._emit_order(order)

    def _emit_order(self, order: Order) -> None:
        self.outbox.private.append((order.account, "order", order_item(order, ws=True)))
        self.outbox.dirty.add((order.account, order.symbol))
