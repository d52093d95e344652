"""The bundled-month replay: the real price path through gridcore with the OPTIMISTIC model.

What the Dagster asset of the same name runs: an ordinary backtest of the ``bundled``
source, with the legacy bot's BTC example as its default parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from daemons.backtest.runner import BacktestRun, BacktestSpec, run_backtest
from daemons.backtest.sources import tape_from_bars
from daemons.marketdata.bars import load_bars
from gridcore.config import GridConfig

SYMBOL = "BTCUSDT"
#: The legacy live example for BTC: 20 levels, 0.5 % apart.
DEMO_CONFIG = GridConfig(amount="x0.003", grid_count=20, grid_step_pct=0.5)


def run_bundled_replay(
    config: GridConfig = DEMO_CONFIG,
    *,
    bars_path: Path | None = None,
    max_bars: int | None = None,
    starting_balance: Decimal = Decimal(10_000),
    fill_model: str = "OPTIMISTIC",
    progress: Callable[[int], None] | None = None,
) -> BacktestRun:
    """Replay the bundled one-minute bars (or ``bars_path``) through a fresh engine."""
    bars = load_bars(bars_path)
    if max_bars is not None:
        bars = bars[:max_bars]
    spec = BacktestSpec(config=config, symbol=SYMBOL, fill_model=fill_model,
                        starting_balance=starting_balance, strategy_id="demo")
    return run_backtest(spec, tape_from_bars(SYMBOL, bars), progress=progress)
