"""The bundled-month replay: the real price path through gridcore with the OPTIMISTIC model.

Shared by ``gridbot demo`` and the Dagster asset of the same name, so both report the
same numbers for the same parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from daemons.backtest.price_path import bars_to_tickers
from daemons.marketdata.bars import load_bars
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.fills import make_fill_model
from gridcore.sim.replay import ReplayResult, replay

SYMBOL = "BTCUSDT"
#: Bybit's BTCUSDT instrument: price tick and quantity step.
TICK_SIZE = Decimal("0.1")
QTY_STEP = Decimal("0.001")
#: The legacy live example for BTC: 20 levels, 0.5 % apart.
DEMO_CONFIG = GridConfig(amount="x0.003", grid_count=20, grid_step_pct=0.5)


@dataclass(frozen=True, slots=True)
class BundledReplay:
    """A finished replay: the engine and broker at the end, and what happened."""

    engine: GridEngine
    broker: SimBroker
    result: ReplayResult

    def summary(self) -> dict[str, object]:
        return self.result.summary(self.engine, self.broker)


def run_bundled_replay(
    config: GridConfig = DEMO_CONFIG,
    *,
    bars_path: Path | None = None,
    max_bars: int | None = None,
    starting_balance: Decimal = Decimal(10_000),
    fill_model: str = "OPTIMISTIC",
    progress: Callable[[int], None] | None = None,
) -> BundledReplay:
    """Replay the bundled one-minute bars (or ``bars_path``) through a fresh engine."""
    bars = load_bars(bars_path)
    if max_bars is not None:
        bars = bars[:max_bars]
    if not bars:
        raise ValueError("no bars to replay")
    engine = GridEngine(config, TICK_SIZE, QTY_STEP, "demo", symbol=SYMBOL)
    broker = SimBroker(SYMBOL, make_fill_model(fill_model), starting_balance=starting_balance)
    result = replay(bars_to_tickers(bars, SYMBOL), engine, broker, progress=progress)
    return BundledReplay(engine=engine, broker=broker, result=result)
