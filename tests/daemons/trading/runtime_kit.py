"""One strategy's runtime on a real engine and a real run recorder, without a daemon.

For tests of what the runtime decides around the engine (snapshot cuts, refusals): the
exchange is a :class:`ScriptedExchange` that answers placements as the test says, and
the test feeds the private stream's messages itself.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from daemons.db import accounts, strategies, users
from daemons.db.session import Database
from daemons.trading.records import RunRecorder
from daemons.trading.runtime import StrategyRuntime
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.events import CoinBalance, Event, TickerEvent, WalletEvent
from gridcore.intents import Intent, PlaceLimitIntent

SYMBOL = "ETHUSDT"
CONFIG = GridConfig(amount="0.09", grid_count=20, grid_step_pct=0.02)
T0 = 1_796_648_862_773


class RowList:
    """The batched writer's interface, keeping the journal and decision rows in memory."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, tuple[Any, ...]]] = []

    def put(self, scope: UUID | None, table: str, rows: list[tuple[Any, ...]]) -> None:
        self.rows += [(table, row) for row in rows]


class ScriptedExchange:
    """Takes every request; a placement ``refuse`` names a reason for is refused at once
    (as Bybit's REST answers a refusal), any other request is answered nothing at once
    (its acknowledgement comes later on the private stream, fed by the test)."""

    def __init__(self, refuse: Callable[[PlaceLimitIntent], str | None] = lambda _: None,
                 ) -> None:
        self.placed: list[PlaceLimitIntent] = []
        self.refused: list[PlaceLimitIntent] = []
        self.cancels = 0
        self._refuse = refuse

    def send(self, runtime: StrategyRuntime, intent: Intent, sent_ts: int,
             receipt_ns: int) -> list[Event]:
        if not isinstance(intent, PlaceLimitIntent):
            self.cancels += 1
            return []
        self.placed.append(intent)
        reason = self._refuse(intent)
        if reason is None:
            return []
        self.refused.append(intent)
        return [intent.refused(sent_ts, reason)]


def make_runtime(db: Database, exchange: ScriptedExchange, config: GridConfig = CONFIG,
                 ) -> tuple[StrategyRuntime, UUID]:
    """A live strategy of a new user's account, told a 10,000 USDT wallet; its owner."""
    with db.admin() as conn:
        user = users.add_user(conn, "alice").user_id
    with db.unit_of_work(user) as conn:
        account = accounts.add_account(conn, user, "side", "local").account_id
        strategy = strategies.add_strategy(conn, account, SYMBOL, config.to_mapping())
    recorder = RunRecorder.start(db, RowList(), user_id=user, account_id=account,
                                 strategy_id=strategy.strategy_id, symbol=SYMBOL, run_type="live",
                                 config_snapshot={"config": config.to_mapping()})
    engine = GridEngine(config, "0.01", "0.01", "g1", symbol=SYMBOL)
    runtime = StrategyRuntime(strategy_id=strategy.strategy_id, mode="live", engine=engine,
                              recorder=recorder, gateway=exchange)
    usdt = CoinBalance("USDT", Decimal(10_000), Decimal(10_000))
    runtime.on_private(WalletEvent(symbol="", exchange_ts=T0 - 500, local_ts=T0 - 500,
                                   coins=(usdt,)), 0)
    return runtime, user


def ticker(ts: int, price: str = "2319") -> TickerEvent:
    return TickerEvent(symbol=SYMBOL, exchange_ts=ts, local_ts=ts, last_price=Decimal(price))
