"""Backtests from file sources: determinism, windows, models and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemons.backtest.runner import (
    BacktestInputError,
    BacktestSpec,
    event_total,
    load_file_source,
    run_backtest,
)
from daemons.backtest.sources import tape_from_trade_file
from daemons.cli.main import app
from daemons.marketdata.bars import BUNDLED_BARS
from gridcore.config import GridConfig
from gridcore.sim.models import FillModelName

CONFIG = GridConfig(amount="0.001", grid_count=20, grid_step_pct=0.1)
TRADES = BUNDLED_BARS.parent / "binance_usdm_btcusdt_trades_2024-08-08T2354.csv.gz"
runner = CliRunner()


@pytest.fixture(scope="module")
def real_trades():
    return tape_from_trade_file("BTCUSDT", TRADES)


def test_backtest_same_inputs_twice_give_identical_digest(real_trades) -> None:
    spec = BacktestSpec(config=CONFIG, fill_model="QUEUE", queue_ahead=0.3, latency_ms=30)
    first, second = run_backtest(spec, real_trades), run_backtest(spec, real_trades)
    assert first.digest == second.digest
    assert len(first.broker.fills) > 0


def test_backtest_volume_models_give_their_own_results(real_trades) -> None:
    """PESSIMISTIC and QUEUE differ from CONSERVATIVE on a fine grid. (OPTIMISTIC is not
    compared: on a trade file it differs from CONSERVATIVE only where one trade reaches two
    orders, which CONSERVATIVE's volume cap decides.)"""
    fine = GridConfig(amount="0.01", grid_count=20, grid_step_pct=0.02)
    digest = {m: run_backtest(BacktestSpec(config=fine, fill_model=m.value, queue_ahead=0.5),
                              real_trades).digest for m in FillModelName}
    assert len({digest[FillModelName.CONSERVATIVE], digest[FillModelName.PESSIMISTIC],
                digest[FillModelName.QUEUE]}) == 3


def test_backtest_models_order_by_optimism(real_trades) -> None:
    """On real trades, optimistic fills at least as much as conservative, and so on."""
    fills = {m: len(run_backtest(BacktestSpec(config=CONFIG, fill_model=m.value),
                                 real_trades).broker.fills) for m in FillModelName}
    assert fills[FillModelName.OPTIMISTIC] >= fills[FillModelName.CONSERVATIVE] > 0
    assert fills[FillModelName.CONSERVATIVE] >= fills[FillModelName.PESSIMISTIC]


def test_backtest_window_selects_by_exchange_time(real_trades) -> None:
    start = int(real_trades.ts[0]) + 60_000
    run = run_backtest(BacktestSpec(config=CONFIG, start_ms=start, end_ms=start + 60_000),
                       real_trades)
    assert start <= run.result.first_ts and run.result.last_ts < start + 60_000


def test_backtest_empty_window_is_refused(real_trades) -> None:
    with pytest.raises(BacktestInputError, match="no market data"):
        run_backtest(BacktestSpec(config=CONFIG, start_ms=1, end_ms=2), real_trades)


def test_backtest_reversed_window_is_refused() -> None:
    with pytest.raises(BacktestInputError, match="must be before"):
        BacktestSpec(config=CONFIG, start_ms=10, end_ms=5)


def test_backtest_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="known: OPTIMISTIC"):
        BacktestSpec(config=CONFIG, fill_model="magic")


def test_backtest_unknown_source_is_refused() -> None:
    with pytest.raises(BacktestInputError, match="not a file"):
        load_file_source("nowhere.csv", "BTCUSDT")


def test_cli_backtest_json_summary_for_a_trade_file(tmp_path: Path) -> None:
    config = tmp_path / "grid.yaml"
    config.write_text("amount: '0.001'\ngrid_count: 20\ngrid_step: 0.1\n")
    result = runner.invoke(app, ["backtest", "--source", str(TRADES), "--config", str(config),
                                 "--fill-model", "pessimistic", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary["fill_model"] == "PESSIMISTIC" and summary["events"] > 21_000


@pytest.mark.parametrize(("args", "message"), [
    (["--fill-model", "nope"], "unknown 'nope'"),
    (["--from", "2030-01-01"], "no market data"),
    (["--from", "2022-01-05", "--to", "2022-01-02"], "must be before"),
    (["--from", "yesterday"], "expected an ISO date"),
    (["--set", "grid_count=1"], "grid_count"),
    (["--balance", "-5"], "--balance"),
])
def test_cli_backtest_bad_input_fails_with_clear_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["backtest", *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_backtest_progress_reaches_the_event_total(real_trades) -> None:
    start = int(real_trades.ts[0]) + 30_000
    spec = BacktestSpec(config=CONFIG, start_ms=start)
    seen: list[int] = []
    run = run_backtest(spec, real_trades, progress=seen.append)
    total = event_total(spec, real_trades)
    assert total == run.result.events < len(real_trades)
    assert seen == sorted(seen) and seen[-1] == total


def test_cli_progress_bar_shows_total_percentage_and_time_left() -> None:
    """On a terminal the bar has a total: it shows the count of the total and 100 %."""
    from io import StringIO

    from rich.console import Console

    from daemons.cli.backtest_cmd import _progress

    out = StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with _progress(console, 1_000, enabled=True) as update:
        update(1_000)
    assert "100%" in out.getvalue() and "1,000/1,000 events" in out.getvalue()
    with _progress(console, 1_000, enabled=False) as update:
        assert update is None


def test_summary_prints_zero_amounts_in_fixed_point(real_trades) -> None:
    """A window without funding pays none: "0.00000000", never "0E-8"."""
    summary = run_backtest(BacktestSpec(config=CONFIG), real_trades).summary()
    assert summary["funding"] == "0.00000000"
    assert not any("E" in value for value in summary.values() if isinstance(value, str)
                   and value[:1].isdigit())


@pytest.mark.parametrize("source", ["bundled", "generated"])
def test_cli_backtest_btc_sources_refuse_another_symbol(source: str) -> None:
    result = runner.invoke(app, ["backtest", "--source", source, "--symbol", "ETHUSDT"])
    assert result.exit_code == 1
    assert f"--source {source} holds BTCUSDT prices, not ETHUSDT" in " ".join(
        result.output.split())
