"""`gridbot demo`: the main job on the embedded defaults.

At this stage it replays the bundled month of real one-minute BTC perpetual bars through
gridcore with the OPTIMISTIC fill model and prints what the grid did. Later stages add the
local venue, capture, live trading and the comparison report to the same command.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import typer


def demo(
    bars: Path | None = typer.Option(
        None, "--bars", exists=True, dir_okay=False,
        help="One-minute bars CSV (timestamp,open,high,low,close,volume); default: bundled month.",
    ),
    max_bars: int | None = typer.Option(
        None, "--max-bars", min=1, max=10**7, help="Replay only the first N bars (quick look)."
    ),
    balance: float = typer.Option(10_000.0, "--balance", min=1.0, max=1e12,
                                  help="Starting USDT balance."),
    config_set: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE",
        help="Override a strategy parameter, e.g. --set grid_step=0.5 (repeatable).",
    ),
) -> None:
    """Replay the bundled real price path through gridcore and print a summary."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from daemons.backtest.bundled import DEMO_CONFIG, run_bundled_replay
    from daemons.cli.config_args import load_config
    from daemons.cli.support import fail
    from daemons.marketdata.bars import load_bars
    from daemons.marketdata.rows import MarketDataError
    from gridcore.config import ConfigError

    console = Console()
    try:
        config = load_config(None, config_set, base=DEMO_CONFIG)
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="--set") from None
    try:  # a bars file that is not text or has a bad row: one line naming it (rows.py)
        # Each bar becomes 8 events: a trade and a ticker at its open, extremes and close.
        total = (len(load_bars(bars)) if max_bars is None else max_bars) * 8
        with Progress(TextColumn("replaying"), BarColumn(),
                      TextColumn("{task.completed:,} events"), TimeRemainingColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("replay", total=total)
            run = run_bundled_replay(
                config, bars_path=bars, max_bars=max_bars,
                starting_balance=Decimal(str(balance)),
                progress=lambda done: progress.update(task, completed=done),
            )
    except MarketDataError as error:
        fail(str(error))
    except UnicodeDecodeError:
        fail(f"--bars {bars}: not UTF-8 text")
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        fail(f"cannot replay the bars of {bars or 'the bundled file'}: "
             f"{type(error).__name__} {detail}")
    summary = run.summary()
    table = Table(title="gridbot demo: bundled BTC-PERP month, OPTIMISTIC fills", show_header=False)
    for key, label in _ROWS:
        table.add_row(label, _fmt(summary[key]))
    console.print(table)
    console.print(f"strategy: {config.to_mapping()}", markup=False, highlight=False)


_ROWS = [
    ("events", "market events"), ("fills", "fills"), ("buy_fills", "  buys"),
    ("sell_fills", "  sells"), ("orders_placed", "orders placed"), ("cancels", "cancels"),
    ("realised_pnl", "realised PnL (USDT)"), ("fees", "fees (USDT)"),
    ("unrealised_pnl", "unrealised PnL (USDT)"), ("final_equity", "final equity (USDT)"),
    ("long_size", "long position (BTC)"), ("long_entry", "  avg entry"),
    ("short_size", "short position (BTC)"), ("short_entry", "  avg entry"),
    ("last_price", "last price"), ("grid_builds", "grid builds (first + rebuilds)"),
]


def _fmt(value: object) -> str:
    if isinstance(value, str):
        try:
            return f"{Decimal(value):,.4f}".rstrip("0").rstrip(".")
        except ArithmeticError:
            return value
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)

