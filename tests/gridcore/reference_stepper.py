"""A reference stepper: the grid strategy written a second time, literally, from the rules.

It follows docs/strategy.md rule by rule in the shape the legacy bot had: a polled
strategy object with plain dicts for orders and positions, a position check that refreshes
one side after the other and stops where the legacy code divided by an empty side, the
"same order" check over whole execution messages, and the documented deviations of
docs/deviations.md (so that its decisions can equal gridcore's one for one). It shares no
code with :class:`gridcore.engine.GridEngine` beyond the event and id formats: no grid,
sizing, risk, latch, order-view or fast-path module is imported. The grid is
:class:`tests.gridcore.legacy_reference.LegacyGrid` with deviation D1 applied.

Decisions come out as plain tuples:
``("place", link_id, direction, side, price, qty, reduce_only)`` and
``("cancel", order_id_or_link_id)``.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal

from gridcore import order_ids
from gridcore.events import ExecutionEvent, OrderUpdateEvent, PositionEvent, WalletEvent
from tests.gridcore.legacy_reference import LegacyGrid

CHECK_INTERVAL_MS = 63_000
FINAL = {"Filled", "Cancelled", "Rejected", "Deactivated", "PartiallyFilledCanceled"}
CLOSE_SIDE = {"long": "Sell", "short": "Buy"}


class RefGrid(LegacyGrid):
    """The literal legacy grid, except deviation D1 (no SELL level at price 0)."""

    def centre(self) -> None:
        buys = sum(1 for level in self.levels if level["side"] == "Buy")
        sells = sum(1 for level in self.levels if level["side"] == "Sell")
        if buys + sells and sells == 0 and (buys - sells) / (buys + sells) > 0.3:
            top = self.levels[-1]["price"]  # D1: the top level instead of 0
            self.levels.pop(0)
            self.levels.append({"side": "Sell", "price": self.rnd(top * (1 + self.step / 100))})
            return
        super().centre()


def _ceil_to_step(amount: float, step: float) -> float:
    """Round up to the step, in decimal from the value printed at 10 decimals (D7)."""
    if amount <= 0:
        return 0.0
    step_d = Decimal(repr(step))
    units = (Decimal(f"{amount:.10f}") / step_d).to_integral_value(rounding=ROUND_CEILING)
    return float(units * step_d)


def _direction(order: dict) -> str:
    """Rule 3.4.1: long = BUY not reduce-only or SELL reduce-only."""
    return "long" if (order["side"] == "Buy") != order["reduce_only"] else "short"


class _CheckStopped(Exception):
    """The legacy check divided by an empty side here and stopped (rule 6.7)."""


class ReferenceStepper:
    """One strategy (one symbol), stepped by tickers, told about its account by events."""

    def __init__(self, config: dict, tick: float, qty_step: float, strategy_id: str,
                 symbol: str) -> None:
        self.cfg = config
        self.n = int(config["grid_count"])
        self.s = float(config["grid_step_pct"])
        self.tick, self.qty_step = tick, qty_step
        self.strategy_id, self.symbol = strategy_id, symbol
        self.greed = RefGrid(tick, self.n, self.s)
        amount = str(config["amount"])
        self.fixed = None if amount.startswith("x") else float(amount)
        self.factor = float(amount[1:]) if amount.startswith("x") else None
        self.limits: list[dict] = []  # open orders, in the order they became known
        self.position_data: dict[str, dict | None] = {"long": None, "short": None}
        self.position: dict[str, dict | None] = {"long": None, "short": None}
        self.margin: dict[str, float | None] = {"long": None, "short": None}
        self.rule_ratio = 1.0           # the ratio the rules read (previous check's)
        self.position_ratio: float | None = None  # the ratio long_koef reads
        self.mult = {"long": {"Buy": 1.0, "Sell": 1.0}, "short": {"Buy": 1.0, "Sell": 1.0}}
        self.wallet: float | None = None
        self.execution_data: list[ExecutionEvent] = []
        self.same_orders_error = False
        self.last_filled_price: float | None = None
        self.last_close: float | None = None
        self.last_check_ts: int | None = None
        self.first = True
        self.seq = 0

    # ------------------------------------------------------------------ account events

    def on_order(self, event: OrderUpdateEvent) -> None:
        if event.symbol != self.symbol:
            return
        key_link, key_id = event.order_link_id, event.order_id
        known = next((o for o in self.limits if (key_link and o["link"] == key_link)
                      or (not key_link and o["id"] == key_id)), None)
        plain = event.order_type == "Limit" and not event.stop_order_type
        if event.order_status in FINAL or not plain:
            if known is not None and not (known["acked"] and known["id"] != event.order_id):
                self.limits.remove(known)
            return
        if known is None:
            self.limits.append({"link": key_link, "id": key_id, "side": event.side,
                                "price": float(event.price), "qty": float(event.qty),
                                "reduce_only": event.reduce_only, "acked": True,
                                "cancel_sent": False})
        else:
            known.update(id=key_id, price=float(event.price), qty=float(event.qty), acked=True)

    def on_execution_message(self, executions: list[ExecutionEvent]) -> None:
        """Rule 7 on one message: its full fills before the remembered four, newest first."""
        full = [e for e in executions if e.symbol == self.symbol and e.leaves_qty == 0
                and e.exec_type == "Trade"]
        if not full:
            return
        for e in full:
            self.limits = [o for o in self.limits
                           if not ((e.order_link_id and o["link"] == e.order_link_id)
                                   or (not e.order_link_id and o["id"] == e.order_id))]
        self.execution_data = sorted(full + self.execution_data, key=lambda e: e.exchange_ts,
                                     reverse=True)

        def two_newest(group_long: bool) -> list[ExecutionEvent]:
            members = [e for e in self.execution_data
                       if ((e.side == "Buy") == (e.closed_size != 0)) == group_long]
            return members[:2]

        self.same_orders_error = False
        for newest in (two_newest(True), two_newest(False)):
            if (len(newest) == 2 and newest[0].exec_price == newest[1].exec_price
                    and newest[0].side == newest[1].side
                    and newest[0].order_id != newest[1].order_id):
                self.same_orders_error = True
                break
        self.execution_data = self.execution_data[:4]
        self.last_filled_price = float(self.execution_data[0].exec_price)

    def on_position(self, event: PositionEvent) -> None:
        if event.symbol == self.symbol and event.position_idx in (1, 2):
            self.position_data["long" if event.position_idx == 1 else "short"] = {
                "size": float(event.size), "entry": float(event.entry_price),
                "leverage": float(event.leverage), "liq": float(event.liq_price or 0),
                "value": float(event.position_value)}

    def on_wallet(self, event: WalletEvent) -> None:
        self.wallet = float(event.sizing_balance)

    # ------------------------------------------------------------------ the step (rule 3)

    def step(self, close: float, ts: int) -> list[tuple]:
        if not close > 0:
            return []
        self.last_close = close
        if self.same_orders_error:
            return []
        out: list[tuple] = []
        if len(self.greed.levels) <= 1:
            self.greed.build(close)
        if self.first or ts - self.last_check_ts >= CHECK_INTERVAL_MS:
            self.check_positions(close)
            self.last_check_ts = ts
        self.first = False
        for direction in ("long", "short"):
            limits = [o for o in self.limits if _direction(o) == direction]
            if len(limits) > len(self.greed.levels) + 10:
                for order in list(self.limits):
                    self.cancel(order, out)
                self.greed.levels = []
                self.greed.build(close)
            if 0 < len(limits) < self.n:
                self.greed.update(self.last_filled_price, close)
            self.place_greed_orders(limits, direction, close, out)
        return out

    def place_greed_orders(self, limits: list[dict], direction: str, close: float,
                           out: list[tuple]) -> None:
        by_price: dict[float, list[dict]] = {}
        for order in limits:
            by_price.setdefault(order["price"], []).append(order)
        levels = self.greed.levels
        waits = [i for i, level in enumerate(levels) if level["side"] == "Wait"]
        centre = (waits[0] + waits[-1]) // 2 if waits else len(levels) // 2
        visit = sorted(((i, level) for i, level in enumerate(levels) if level["side"] != "Wait"),
                       key=lambda pair: (abs(pair[0] - centre), pair[1]["price"]))
        for index, level in visit:
            if not limits:
                self.place(level, index, direction, close, out)
                continue
            here = by_price.get(level["price"])
            if here is None:
                self.place(level, index, direction, close, out)
                continue
            other = [o for o in here if o["side"] != level["side"]]
            for order in other:
                self.cancel(order, out)
            if len(other) == len(here):
                self.place(level, index, direction, close, out)
        on_grid = {round(level["price"], 8) for level in levels}
        for order in sorted(limits, key=lambda o: o["price"]):
            if round(order["price"], 8) not in on_grid:
                self.cancel(order, out)

    def place(self, level: dict, index: int, direction: str, close: float,
              out: list[tuple]) -> None:
        side, price = level["side"], level["price"]
        diff = (close - price) / close * 100
        if (side == "Buy" and diff <= 0) or (side == "Sell" and diff >= 0):
            return
        if abs(diff) <= self.s / 2:
            return
        reduce_only = CLOSE_SIDE[direction] == side
        qty = self.amount(price, direction, side)
        if qty is None:
            return
        if any(o["price"] == price and o["qty"] == qty and o["side"] == side
               and o["reduce_only"] == reduce_only and not o["cancel_sent"]
               for o in self.limits):
            return  # D3
        if reduce_only:
            stored = self.position[direction]
            size = stored["size"] if stored is not None else 0.0
            closing = qty + sum(o["qty"] for o in self.limits
                                if _direction(o) == direction and o["reduce_only"])
            if not size > closing:
                return
        link = order_ids.encode(order_ids.OrderKey(
            strategy_id=self.strategy_id, direction=direction, side=side,
            price_ticks=round(price / self.tick), sequence=self.seq))
        self.seq += 1
        self.limits.append({"link": link, "id": "", "side": side, "price": price, "qty": qty,
                            "reduce_only": reduce_only, "acked": False, "cancel_sent": False})
        out.append(("place", link, direction, side, price, qty, reduce_only))

    def cancel(self, order: dict, out: list[tuple]) -> None:
        if not order["cancel_sent"]:
            order["cancel_sent"] = True  # D5: once, and held until confirmed
            out.append(("cancel", order["id"] or order["link"]))

    # ------------------------------------------------------------------ sizing (rule 5)

    def amount(self, price: float, direction: str, side: str) -> float | None:
        if self.fixed is not None:
            amount = self.fixed
        else:
            if self.wallet is None:
                return None  # D8
            amount = _ceil_to_step(self.wallet / price * self.factor, self.qty_step)
        if amount < 5 / price:
            amount = _ceil_to_step(5 / price, self.qty_step)
        amount = max(amount, self.qty_step)
        multiplier = self.mult[direction][side]
        long, short = self.position["long"], self.position["short"]
        if (self.position_ratio is not None and 1.1 < self.position_ratio < 10
                and long is not None and short is not None
                and long["liq"] == 0 and short["liq"] == 0):
            multiplier *= float(self.cfg.get("long_koef", 1.0))
        return _ceil_to_step(amount * multiplier, self.qty_step)

    # ------------------------------------------------------------------ check (rule 6)

    def check_positions(self, close: float) -> None:
        for side in self.mult.values():
            side["Buy"] = side["Sell"] = 1.0
        empty = {"size": 0.0, "entry": 0.0, "leverage": 0.0, "liq": 0.0, "value": 0.0}
        for direction in ("long", "short"):  # D2: both sides are read at every check
            self.position[direction] = self.position_data[direction] or empty
        try:
            self.refresh("long", close)
            self.refresh("short", close)
        except _CheckStopped:
            return
        if self.position["short"]["size"] == 0:
            return
        self.position_ratio = self.position["long"]["size"] / self.position["short"]["size"]
        self.rule_ratio = self.position_ratio

    def refresh(self, direction: str, close: float) -> None:
        pos = self.position[direction]
        other = "short" if direction == "long" else "long"
        wallet = self.wallet if self.wallet is not None and self.wallet > 0 else None
        self.margin[direction] = pos["value"] / wallet if wallet is not None else 0.0
        if pos["entry"] == 0:
            raise _CheckStopped
        entry, lev = pos["entry"], pos["leverage"]
        liq = pos["liq"] / close
        cfg = self.cfg
        min_liq = float(cfg.get("min_liq_ratio", 0.8))
        max_liq = float(cfg.get("max_liq_ratio", 1.2))
        min_total = float(cfg.get("min_total_margin", 0.0))
        increase = bool(cfg.get("increase_same_position_on_low_margin", False))

        def equal() -> bool:
            theirs = self.margin[other]
            if theirs is None:
                raise TypeError
            return theirs != 0 and 0.94 < self.margin[direction] / theirs < 1.05

        def low_margin() -> None:
            if increase:
                self.mult[direction]["Buy" if direction == "long" else "Sell"] = 2.0
            else:
                self.mult[direction]["Sell" if direction == "long" else "Buy"] = 0.5

        try:
            if direction == "long":
                upnl = (1 / entry - 1 / close) * entry * 100 * lev
                if liq > 1.05 * min_liq:
                    self.mult["long"]["Sell"] = 1.5
                elif liq > min_liq:
                    self.mult["short"]["Buy"] = 0.5
                elif equal() and self.margin["long"] + self.margin["short"] < min_total:
                    low_margin()
                elif self.rule_ratio < 0.5 and upnl < 0:
                    self.mult["long"]["Buy"] = 2.0
                elif self.rule_ratio < 0.20:
                    self.mult["long"]["Buy"] = 2.0
            else:
                upnl = (1 / close - 1 / entry) * entry * 100 * lev
                if 0 < liq < 0.95 * max_liq:
                    self.mult["short"]["Buy"] = 1.5
                elif 0 < liq < max_liq:
                    self.mult["long"]["Sell"] = 0.5
                elif equal() and self.margin["short"] + self.margin["long"] < min_total:
                    low_margin()
                elif self.rule_ratio > 2.0 and upnl < 0:
                    self.mult["short"]["Sell"] = 2.0
                elif self.rule_ratio > 5.0:
                    self.mult["short"]["Sell"] = 2.0
        except TypeError:  # the other side's margin was never read: the rules stop here
            self.margin[direction] = 0.0
        assert math.isfinite(self.margin[direction])
