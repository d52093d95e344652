"""GridEngine: the legacy grid strategy as a deterministic, event-driven state machine.

``on_event(event) -> list[Intent]`` is the whole interface. Ticker events run one strategy
step (docs/strategy.md section 3); account events update the engine's own view of orders,
positions and wallet; nothing reads a clock, so the same events always give the same
intents, live or in replay.

Fast path: most ticker events change nothing. After a step that emitted nothing and left
the grid as it was, the engine remembers the open price interval around the last price
in which every price comparison of the rules keeps its outcome, and the few levels that
could become placeable inside it (:mod:`gridcore.quiet`). A later ticker inside that
interval, with no other event in between and no change by a due position check of
anything a step reads from it (multipliers, checked position sizes, ``long_koef``),
provably gives the same empty result, so it returns at once. The tests
compare every scenario against the engine with the fast path off.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gridcore import order_ids
from gridcore.config import ConfigError, GridConfig
from gridcore.events import (
    BUY,
    ExecutionEvent,
    OrderUpdateEvent,
    PositionEvent,
    TickerEvent,
    WalletEvent,
)
from gridcore.grid import WAIT, Grid, GridLevel
from gridcore.intents import LONG, SHORT, CancelIntent, Intent, PlaceLimitIntent, is_closing
from gridcore.latch import RecentFill, SameOrderLatch
from gridcore.order_view import HeldOrder, OrderView
from gridcore.prices import decimals_of, price_to_ticks, to_decimal
from gridcore.quiet import QuietCell, is_eligible, quiet_cell
from gridcore.risk import CheckState, PositionSnapshot, run_position_check
from gridcore.sizing import order_qty

STATE_VERSION = 2
#: Rule 3.4.2: more open orders than levels + this many means something went wrong.
EXCESS_ORDERS = 10
_POSITION_IDX = {LONG: 1, SHORT: 2}


class GridEngine:
    """One grid strategy (one symbol, one account) driven by events.

    Parameters
    ----------
    config:
        The strategy parameters.
    tick_size, qty_step:
        The instrument's price tick and quantity step (as given by instruments-info).
    strategy_id:
        Short id (1 to 12 letters or digits) embedded in every client order id.
    symbol:
        The instrument traded; events of other symbols are ignored.
    fast_path:
        Skip provably quiet ticker steps (on by default; tests turn it off to compare).
    """

    def __init__(
        self,
        config: GridConfig,
        tick_size: Decimal | str | float,
        qty_step: Decimal | str | float,
        strategy_id: str,
        *,
        symbol: str,
        fast_path: bool = True,
    ) -> None:
        self.config = config
        self.symbol = symbol
        self.strategy_id = order_ids.validate_strategy_id(strategy_id)
        self.tick_size = _positive_float("tick_size", tick_size)
        self.qty_step = _positive_float("qty_step", qty_step)
        self._price_decimals = decimals_of(self.tick_size)
        self._qty_decimals = decimals_of(self.qty_step)
        self._amount = config.parsed_amount
        self._half_step_pct = config.grid_step_pct / 2
        self.fast_path = fast_path
        self.grid = Grid(self.tick_size, config.grid_count, config.grid_step_pct)
        self.orders = OrderView()
        self.positions = {LONG: PositionSnapshot(), SHORT: PositionSnapshot()}
        self.wallet_balance: float | None = None
        self.check = CheckState()
        self.last_filled_price: float | None = None
        self.last_close: float | None = None
        self.last_check_ts: int | None = None
        self.steps = 0
        self.sequence = 0
        self.latch = SameOrderLatch()
        self._quiet: QuietCell | None = None
        self._plan: tuple[list[int], frozenset[float], frozenset[float]] | None = None
        self._plan_version = -1
        self._handlers = {
            TickerEvent: self._on_ticker,
            OrderUpdateEvent: self._on_order_update,
            ExecutionEvent: self._on_execution,
            PositionEvent: self._on_position,
            WalletEvent: self._on_wallet,
        }

    # ------------------------------------------------------------------ events

    def on_event(self, event: object) -> list[Intent]:
        """Feed one event; return the intents it causes (often none)."""
        handler = self._handlers.get(type(event))
        if handler is None:
            return []
        return handler(event)

    @property
    def multipliers(self) -> dict[tuple[str, str], float]:
        """The size multipliers of the last position check (section 6)."""
        return self.check.multipliers

    def _on_ticker(self, event: TickerEvent) -> list[Intent]:
        self.latch.end_batch()
        if event.symbol != self.symbol:
            return []
        close = float(event.last_price)
        if not close > 0:
            return []
        self.last_close = close
        if self.latch.is_set:
            return []
        cell = self._quiet
        if (
            cell is not None
            and cell.low < close < cell.high
            and not any(is_eligible(side, price, close, self._half_step_pct)
                        for side, price in cell.watched)
            and self._check_keeps_multipliers(close, event.exchange_ts)
        ):
            self.steps += 1
            return []
        return self._step(close, event.exchange_ts)

    def _check_keeps_multipliers(self, close: float, ts: int) -> bool:
        """Run a due position check on the fast path; False if a step would read it differently.

        A check that leaves the multipliers, the checked position sizes and the ``long_koef``
        test as they were cannot change the step's outcome, so the step stays quiet and the
        check is kept (with a 63 s check and one-minute bars, nearly every bar is due).
        """
        if self.last_check_ts is not None and (
            ts - self.last_check_ts < self.config.position_check_interval_ms
        ):
            return True
        check = self._position_check(close)
        if check.sizing_view() != self.check.sizing_view():
            return False
        self.check = check
        self.last_check_ts = ts
        return True

    def _position_check(self, close: float) -> CheckState:
        return run_position_check(self.config, self.positions[LONG], self.positions[SHORT],
                                  self.wallet_balance, close, self.check)

    def _on_order_update(self, event: OrderUpdateEvent) -> list[Intent]:
        self.latch.end_batch()
        if event.symbol == self.symbol and self.orders.apply_update(event):
            self._quiet = None
        return []

    def _on_execution(self, event: ExecutionEvent) -> list[Intent]:
        if event.symbol != self.symbol or not event.is_full_fill:
            return []
        self.orders.remove_filled(event.order_link_id, event.order_id)
        self.latch.on_full_fill(
            RecentFill(event.order_id, event.side, float(event.exec_price),
                       event.closed_size > 0, event.exchange_ts),
            batch_key=event.local_ts,
        )
        newest = self.latch.newest
        if newest is not None:
            self.last_filled_price = newest.price  # rule 4: the newest of the sorted list
        self._quiet = None
        return []

    def _on_position(self, event: PositionEvent) -> list[Intent]:
        self.latch.end_batch()
        if event.symbol != self.symbol or event.position_idx not in (1, 2):
            return []
        direction = LONG if event.position_idx == 1 else SHORT
        self.positions[direction] = PositionSnapshot(
            size=float(event.size),
            entry_price=float(event.entry_price),
            leverage=float(event.leverage),
            liq_price=float(event.liq_price or 0),
            position_value=float(event.position_value),
        )
        self._quiet = None
        return []

    def _on_wallet(self, event: WalletEvent) -> list[Intent]:
        self.latch.end_batch()
        self.wallet_balance = float(event.sizing_balance)
        self._quiet = None
        return []

    def quiet_price_bounds(self) -> tuple[float, float, int | None] | None:
        """Prices between which a ticker is certainly quiet now, and when a check is due.

        For a vectorised replay: a ticker strictly inside ``(low, high)`` before
        ``check_due_ts`` returns no intent and changes nothing but the last close, as long
        as no other event reaches the engine. ``None`` when every ticker must be stepped.
        The bounds are slightly narrower than the exact ones (a ticker near a watched
        level's threshold is simply stepped).
        """
        if self.latch.is_set:
            return (0.0, float("inf"), None)
        cell = self._quiet
        if cell is None or self.last_check_ts is None:
            return None
        low, high = cell.low, cell.high
        half = self._half_step_pct / 100
        for side, price in cell.watched:
            if side == BUY:  # eligible once close > price / (1 - half)
                high = min(high, price / (1 - half) * (1 - 1e-12))
            else:  # eligible once close < price / (1 + half)
                low = max(low, price / (1 + half) * (1 + 1e-12))
        return low, high, self.last_check_ts + self.config.position_check_interval_ms

    def skip_quiet_tickers(self, count: int, last_close: float) -> None:
        """Account for ``count`` tickers a vectorised replay proved quiet (see above)."""
        if count:
            self.last_close = last_close
            if not self.latch.is_set:
                self.steps += count

    def cancel_all(self, reason: str) -> list[Intent]:
        """Operator action: cancels for every order held (a safety cap, a shutdown).

        Each order is asked to cancel once, as in a step; the engine keeps stepping
        afterwards unless its caller stops feeding it tickers.
        """
        intents: list[Intent] = []
        for order in self.orders.all_orders():
            self._cancel(order, reason, intents)
        self._quiet = None
        return intents

    def skip_sequence_to(self, sequence: int) -> None:
        """Never use a client id sequence below ``sequence`` again.

        After a crash the newest snapshot may predate orders the engine sent; their ids are
        on the exchange, and reusing one would name two orders alike.
        """
        self.sequence = max(self.sequence, sequence)

    def check_positions_at_next_step(self) -> None:
        """Run the position check (rule 3, item 3) at the next step, as at a first step.

        For an engine restored after a downtime. The legacy bot started with no check
        behind it and checked at its first step, so a restarted bot sized and guarded its
        orders (rule 3.5) with the positions of its start. A restored engine keeps its last
        check (the next check reads its ratio), but that check's positions predate the
        downtime: a side closed meanwhile would keep getting reduce-only orders, which the
        exchange refuses, until the next regular check.
        """
        self.last_check_ts = None
        self._quiet = None

    def clear_same_order_latch(self) -> None:
        """Operator action: resume a strategy stopped by the same-order latch (section 7)."""
        self.latch.clear()
        self._quiet = None

    # ------------------------------------------------------------------ one step

    def _step(self, close: float, ts: int) -> list[Intent]:
        """Rules 3.2 to 3.4 for one ticker; the latch (3.1) was checked by the caller."""
        intents: list[Intent] = []
        grid = self.grid
        version_before = grid.version
        if len(grid.levels) <= 1:
            grid.build(close)
        if (self.steps == 0 or self.last_check_ts is None
                or ts - self.last_check_ts >= self.config.position_check_interval_ms):
            self.check = self._position_check(close)
            self.last_check_ts = ts
        self.steps += 1
        for direction in (LONG, SHORT):
            held = self.orders.direction_orders(direction)
            if len(held) > len(grid.levels) + EXCESS_ORDERS:
                for order in self.orders.all_orders():
                    self._cancel(order, "too many open orders", intents)
                grid.build(close)
            if 0 < len(held) < self.config.grid_count:
                grid.update(self.last_filled_price, close)
            self._place_grid_orders(direction, held, close, intents)
        self._quiet = None
        if self.fast_path and not intents and grid.version == version_before:
            self._quiet = quiet_cell(grid.levels, close, self._half_step_pct, grid.step / 4,
                                     self.last_filled_price, self._placement_reachable)
        return intents

    def _place_grid_orders(
        self, direction: str, held: list[HeldOrder], close: float, intents: list[Intent]
    ) -> None:
        """Rule 3.4.4: make this direction's orders match the grid, nearest levels first."""
        levels = self.grid.levels
        by_price: dict[float, list[HeldOrder]] = {}
        for order in held:
            by_price.setdefault(order.price, []).append(order)
        visit, exact_prices, level_prices = self._visit_plan()
        for index in visit:
            level = levels[index]
            if not held:
                self._place(direction, index, level, close, intents)
                continue
            at_price = by_price.get(level.price)
            if at_price is None:
                self._place(direction, index, level, close, intents)
                continue
            other_side = [order for order in at_price if order.side != level.side]
            for order in other_side:
                self._cancel(order, "level changed side", intents)
            if len(other_side) == len(at_price):
                self._place(direction, index, level, close, intents)
        # Rule 3.4.4.4: off-grid orders are cancelled in ascending price order (stable).
        for order in sorted(held, key=_held_price):
            if order.price not in exact_prices and round(order.price, 8) not in level_prices:
                self._cancel(order, "price is not a grid level", intents)

    def _placement_reachable(self, level: GridLevel) -> bool:
        """Whether some direction would try to place at ``level`` (see :mod:`gridcore.quiet`).

        A direction tries unless it holds an order of the level's side at its price, or
        the order would close a position that was empty at the last position check
        (refused whatever the price).
        """
        for direction in (LONG, SHORT):
            if (is_closing(direction, level.side)
                    and not self.check.position(direction).size > 0):
                continue
            held = self.orders.direction_orders(direction)
            if not any(o.price == level.price and o.side == level.side for o in held):
                return True
        return False

    def _visit_plan(self) -> tuple[list[int], frozenset[float], frozenset[float]]:
        """Non-WAIT level indexes nearest the centre first, and the level prices (exact, 8 dp).

        Both depend on the grid only, so they are kept until the grid changes.
        """
        grid = self.grid
        if self._plan_version == grid.version and self._plan is not None:
            return self._plan
        levels = grid.levels
        waits = [i for i, level in enumerate(levels) if level.side == WAIT]
        centre = (waits[0] + waits[-1]) // 2 if waits else len(levels) // 2
        visit = sorted(
            (i for i, level in enumerate(levels) if level.side != WAIT),
            key=lambda i: (abs(i - centre), levels[i].price),
        )
        exact = frozenset(level.price for level in levels)
        self._plan = (visit, exact, frozenset(round(price, 8) for price in exact))
        self._plan_version = grid.version
        return self._plan

    def _place(
        self, direction: str, index: int, level: GridLevel, close: float, intents: list[Intent]
    ) -> None:
        """Rule 3.5: place one order for a level, unless a guard says no."""
        side = level.side
        if not is_eligible(side, level.price, close, self._half_step_pct):
            return
        reduce_only = is_closing(direction, side)
        # Rule 3.5: the closing guard reads the position as of the last position check.
        checked_size = self.check.position(direction).size
        if reduce_only and not checked_size > 0:
            return  # nothing to close (the size guard below would refuse any quantity)
        koef = self.config.long_koef if self.check.long_koef_applies() else 1.0
        qty = order_qty(self._amount, level.price, self.qty_step, self.wallet_balance,
                        self.check.multipliers[(direction, side)], koef)
        if qty is None or qty <= 0:
            return
        for order in self.orders.orders.values():
            if (not order.cancel_pending and order.price == level.price and order.qty == qty
                    and order.side == side and order.reduce_only == reduce_only):
                return
        if reduce_only:
            closing = sum(order.qty for order in self.orders.direction_orders(direction)
                          if order.reduce_only)
            if not checked_size > closing + qty:
                return
        client_id = order_ids.encode(order_ids.OrderKey(
            strategy_id=self.strategy_id, direction=direction, side=side,
            price_ticks=price_to_ticks(level.price, self.tick_size), sequence=self.sequence,
        ))
        self.sequence += 1
        self.orders.add_pending(HeldOrder(
            order_id="", order_link_id=client_id, side=side, price=level.price, qty=qty,
            reduce_only=reduce_only, acknowledged=False,
        ))
        intents.append(PlaceLimitIntent(
            symbol=self.symbol, side=side,
            price=to_decimal(level.price, self._price_decimals),
            qty=to_decimal(qty, self._qty_decimals),
            reduce_only=reduce_only, position_idx=_POSITION_IDX[direction],
            client_order_id=client_id, grid_level=index, direction=direction,
        ))

    def _cancel(self, order: HeldOrder, reason: str, intents: list[Intent]) -> None:
        """Ask to cancel an order once; it stays held until the exchange confirms."""
        if order.cancel_pending:
            return
        order.cancel_pending = True
        intents.append(CancelIntent(
            symbol=self.symbol, order_id=order.order_id or None,
            client_order_id=order.order_link_id or None, reason=reason,
        ))

    # ------------------------------------------------------------------ state

    def save_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly here, as JSON-serialisable values."""
        return {
            "state_version": STATE_VERSION,
            "config": self.config.to_mapping(),
            "symbol": self.symbol,
            "strategy_id": self.strategy_id,
            "tick_size": repr(self.tick_size),
            "qty_step": repr(self.qty_step),
            "grid": self.grid.to_state(),
            "grid_builds": self.grid.builds,
            "orders": self.orders.to_state(),
            "positions": {d: _position_state(p) for d, p in self.positions.items()},
            "wallet_balance": self.wallet_balance,
            "check": {
                "multipliers": [[d, s, v] for (d, s), v in self.check.multipliers.items()],
                "positions": [_position_state(p) for p in self.check.positions],
                "ratio": self.check.ratio,
                "margins": list(self.check.margins),
            },
            "last_filled_price": self.last_filled_price,
            "last_close": self.last_close,
            "last_check_ts": self.last_check_ts,
            "steps": self.steps,
            "sequence": self.sequence,
            "latch": self.latch.to_state(),
        }

    @classmethod
    def restore(cls, state: dict[str, Any], *, fast_path: bool = True) -> GridEngine:
        """An engine that continues exactly where :meth:`save_state` was called."""
        if state.get("state_version") != STATE_VERSION:
            raise ValueError(
                f"state_version: expected {STATE_VERSION}, got {state.get('state_version')!r}"
            )
        engine = cls(GridConfig.from_mapping(state["config"]), state["tick_size"],
                     state["qty_step"], state["strategy_id"], symbol=state["symbol"],
                     fast_path=fast_path)
        engine.grid.load_state(state["grid"], state["grid_builds"])
        engine.orders.load_state(state["orders"])
        for direction, values in state["positions"].items():
            engine.positions[direction] = PositionSnapshot(*(float(v) for v in values))
        engine.wallet_balance = state["wallet_balance"]
        check = state["check"]
        long, short = (PositionSnapshot(*(float(v) for v in p)) for p in check["positions"])
        engine.check = CheckState(
            multipliers={(d, s): float(v) for d, s, v in check["multipliers"]},
            positions=(long, short),
            ratio=check["ratio"],
            margins=tuple(check["margins"]),  # type: ignore[arg-type]
        )
        engine.last_filled_price = state["last_filled_price"]
        engine.last_close = state["last_close"]
        engine.last_check_ts = state["last_check_ts"]
        engine.steps = state["steps"]
        engine.sequence = state["sequence"]
        engine.latch.load_state(state["latch"])
        return engine


def _position_state(position: PositionSnapshot) -> list[float]:
    return [position.size, position.entry_price, position.leverage, position.liq_price,
            position.position_value]


def _held_price(order: HeldOrder) -> float:
    return order.price


def _positive_float(name: str, value: Decimal | str | float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, f"must be a number, got {value!r}") from None
    if not number > 0:
        raise ConfigError(name, f"must be > 0, got {value!r}")
    return number

