"""Small factories for the rule tests: engines, events and exchange acknowledgements.

Every event is built from plain numbers, so a test reads as the rule it checks. Expected
prices are computed here from the rule text (:func:`legacy_round`), never by calling the
code under test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from decimal import Decimal

from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.events import (
    BUY,
    SELL,
    CoinBalance,
    ExecutionEvent,
    OrderUpdateEvent,
    PositionEvent,
    TickerEvent,
    WalletEvent,
)
from gridcore.grid import WAIT
from gridcore.intents import CancelIntent, PlaceLimitIntent

SYMBOL = "BTCUSDT"
TICK = "0.1"
QTY_STEP = "0.001"
T0 = 1_700_000_000_000
_ids = itertools.count(1)


def legacy_round(price: float, tick: float = 0.1) -> float:
    """The legacy tick rounding, from the spec's text: round(p / tick) * tick, 10 decimals."""
    return float(f"{round(price / tick) * tick:.10f}")


def expected_build(price: float, n: int, step: float, tick: float) -> list[tuple[float, str]]:
    """Rule 2 build steps 1-4, literally: WAIT at round(P), n/2 SELL up, n/2 BUY down."""
    result = [(legacy_round(price, tick), WAIT)]
    q = price
    for _ in range(n // 2):
        q = legacy_round(q * (1 + step / 100), tick)
        result.append((q, SELL))
    q = price
    for _ in range(n // 2):
        q = legacy_round(q * (1 - step / 100), tick)
        result.insert(0, (q, BUY))
    return result


def make_config(**values: object) -> GridConfig:
    """A small grid (n=6, s=1 %) with a fixed 0.1 amount unless told otherwise."""
    values.setdefault("amount", "0.1")
    values.setdefault("grid_count", 6)
    values.setdefault("grid_step_pct", 1.0)
    return GridConfig(**values)  # type: ignore[arg-type]


def make_engine(*, fast_path: bool = True, tick: str = TICK, qty_step: str = QTY_STEP,
                **config_values: object) -> GridEngine:
    return GridEngine(make_config(**config_values), tick, qty_step, "t1", symbol=SYMBOL,
                      fast_path=fast_path)


def d(value: float | str | int) -> Decimal:
    return Decimal(str(value))


def ticker(price: float | str, ts: int = T0) -> TickerEvent:
    return TickerEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, last_price=d(price))


def order_event(*, side: str, price: float | str, qty: float | str, status: str = "New",
                reduce_only: bool = False, order_id: str | None = None,
                link_id: str = "", ts: int = T0) -> OrderUpdateEvent:
    """An order update as the exchange's order stream sends it (default: a new open order)."""
    return OrderUpdateEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts, order_id=order_id or f"x-{next(_ids)}",
        order_link_id=link_id, side=side, price=d(price), qty=d(qty), order_status=status,
        reduce_only=reduce_only, leaves_qty=d(qty),
    )


def ack(intent: PlaceLimitIntent, status: str = "New", ts: int = T0) -> OrderUpdateEvent:
    """The exchange's answer to a placement: same order, an exchange id, ``status``."""
    return order_event(side=intent.side, price=intent.price, qty=intent.qty, status=status,
                       reduce_only=intent.reduce_only, order_id=f"ex-{intent.client_order_id}",
                       link_id=intent.client_order_id, ts=ts)


def ack_all(engine: GridEngine, intents: Iterable[object], status: str = "New") -> None:
    for intent in intents:
        if isinstance(intent, PlaceLimitIntent):
            engine.on_event(ack(intent, status))


def fill(intent: PlaceLimitIntent, *, price: float | str | None = None,
         closed_size: float | str = 0, leaves_qty: float | str = 0,
         order_id: str | None = None, exec_type: str = "Trade", ts: int = T0) -> ExecutionEvent:
    """An execution of an order the engine placed (default: full fill at its price)."""
    return ExecutionEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts, exec_id=f"e-{next(_ids)}",
        order_id=order_id or f"ex-{intent.client_order_id}",
        order_link_id=intent.client_order_id, side=intent.side,
        exec_price=intent.price if price is None else d(price), exec_qty=intent.qty,
        leaves_qty=d(leaves_qty), closed_size=d(closed_size), exec_type=exec_type,
    )


def raw_fill(*, side: str, price: float | str, order_id: str, closed_size: float | str = 0,
             ts: int = T0, local_ts: int | None = None) -> ExecutionEvent:
    """A full fill of any order (for the latch, which looks at fills only).

    Fills with one ``local_ts`` (receipt time, default ``ts``) arrived in one message.
    """
    return ExecutionEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts if local_ts is None else local_ts,
        exec_id=f"e-{next(_ids)}",
        order_id=order_id, order_link_id="", side=side, exec_price=d(price),
        exec_qty=d("0.1"), leaves_qty=d(0), closed_size=d(closed_size),
    )


def position(idx: int, size: float | str, entry: float | str = 0, *, liq: float | str = 0,
             value: float | str | None = None, leverage: float | str = 10,
             ts: int = T0) -> PositionEvent:
    """One hedge side; position value defaults to size × entry."""
    if value is None:
        value = d(size) * d(entry)
    return PositionEvent(
        symbol=SYMBOL, exchange_ts=ts, local_ts=ts, position_idx=idx, size=d(size),
        entry_price=d(entry), leverage=d(leverage), liq_price=d(liq), position_value=d(value),
    )


def wallet(usdt: float | str, *others: tuple[str, float | str, float | str],
           ts: int = T0) -> WalletEvent:
    """A wallet with ``usdt`` USDT and other coins as (coin, balance, usd value)."""
    coins = [CoinBalance("USDT", d(usdt), d(usdt))]
    coins += [CoinBalance(coin, d(balance), d(usd)) for coin, balance, usd in others]
    return WalletEvent(symbol="", exchange_ts=ts, local_ts=ts, coins=tuple(coins))


def feed(engine: GridEngine, *events: object) -> list[object]:
    """Feed events in order; return all intents they caused."""
    intents: list[object] = []
    for event in events:
        intents.extend(engine.on_event(event))
    return intents


def places(intents: Iterable[object]) -> list[PlaceLimitIntent]:
    return [i for i in intents if isinstance(i, PlaceLimitIntent)]


def cancels(intents: Iterable[object]) -> list[CancelIntent]:
    return [i for i in intents if isinstance(i, CancelIntent)]


def placed(intents: Iterable[object]) -> list[tuple[str, str, float, bool]]:
    """Placements as (direction, side, price, reduce_only), in intent order."""
    return [(i.direction, i.side, float(i.price), i.reduce_only) for i in places(intents)]


def levels(engine: GridEngine) -> list[tuple[float, str]]:
    return [(level.price, level.side) for level in engine.grid.levels]


def started(*, price: float = 100.0, **values: object) -> tuple[GridEngine, list[object]]:
    """An engine after its first ticker at ``price``, with every placement acknowledged."""
    engine = make_engine(**values)
    intents = engine.on_event(ticker(price))
    ack_all(engine, intents)
    return engine, intents
