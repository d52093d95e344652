"""`gridbot strategies add|list|disable|enable|mode|caps|clear-latch`: grid configs per account
and symbol, and how the trading daemons run them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from daemons.cli.support import (
    USAGE_ERROR,
    cli_errors,
    fail,
    open_database,
    print_table,
    rows_of_account,
)

app = typer.Typer(help="Grid strategies (one per account and symbol).", no_args_is_help=True)

_CONFIG = typer.Option(None, "--config", help="JSON or YAML config file.")
_SET = typer.Option([], "--set", help="Parameter as key=value (repeatable; wins over --config).")


@app.command("add")
def add(
    account: str = typer.Option(..., "--account", help="Account name."),
    symbol: str = typer.Option(..., "--symbol", help="Linear perpetual, e.g. BTCUSDT."),
    config: Path | None = _CONFIG,
    assignments: list[str] = _SET,
    user: str | None = typer.Option(None, "--user", help="Owner's username."),
) -> None:
    """Add a grid strategy; the config is validated by gridcore before it is stored."""
    from daemons.cli.config_args import ConfigFileError, load_config
    from daemons.db import accounts, strategies
    from gridcore.config import ConfigError

    try:
        values = load_config(config, assignments, default_amount=None).to_mapping()
    except ConfigFileError as e:
        fail(str(e))
    except ConfigError as e:
        fail(f"invalid config: {e}")
    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            found = accounts.resolve_account(conn, account, user)
        with db.unit_of_work(found.user_id) as conn:
            strategy = strategies.add_strategy(conn, found.account_id, symbol, values)
    typer.echo(f"strategy {strategy.strategy_id} added: {found.username}/{found.account_name} "
               f"{strategy.symbol}")


@app.command("list")
def list_(account: str | None = typer.Option(None, "--account", help="Account name."),
          user: str | None = typer.Option(None, "--user", help="Owner's username.")) -> None:
    """List strategies with their configs, modes, caps and latches."""
    from daemons.db import strategies

    rows, names = rows_of_account(strategies.list_strategies, account, user)
    print_table("strategies", ("id", "account", "symbol", "enabled", "mode", "config", "caps",
                               "latched"),
                [(str(s.strategy_id), names.get(s.account_id, str(s.account_id)), s.symbol,
                  "yes" if s.is_enabled else "no", s.mode,
                  json.dumps(s.config_json, sort_keys=True),
                  json.dumps(s.caps or {}, sort_keys=True), s.latch_reason or "")
                 for s in rows], width=220)


def _set_enabled(strategy_id: int, enabled: bool) -> None:
    from daemons.db import strategies

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            strategy = strategies.get_strategy(conn, strategy_id)
        with db.unit_of_work(strategy.user_id) as conn:
            strategies.set_enabled(conn, strategy_id, enabled)
    typer.echo(f"strategy {strategy_id} ({strategy.symbol}) is "
               f"{'enabled' if enabled else 'disabled'}")


#: A strategy id: PostgreSQL bigint, positive.
_STRATEGY_ID = typer.Argument(..., min=1, max=2**63 - 1, help="Strategy id (see `list`).")


@app.command("disable")
def disable(strategy_id: int = _STRATEGY_ID) -> None:
    """Disable a strategy: daemons stop trading it (capture drops its symbol on restart)."""
    _set_enabled(strategy_id, False)


@app.command("enable")
def enable(strategy_id: int = _STRATEGY_ID) -> None:
    """Enable a strategy again."""
    _set_enabled(strategy_id, True)


def _as_owner_admin(strategy_id: int, change: Any) -> Any:
    """Run ``change(conn)`` on the strategy as the owner of the tables (operator action)."""
    from daemons.db import strategies

    with cli_errors():
        db = open_database()
        with db.admin() as conn:
            strategies.get_strategy(conn, strategy_id)
            return change(conn)


@app.command("mode")
def mode(strategy_id: int = _STRATEGY_ID,
         new_mode: str = typer.Argument(..., metavar="MODE", help="live or shadow.")) -> None:
    """Trade a strategy live or in shadow (decide on live events, send nothing)."""
    from daemons.db import strategies

    _as_owner_admin(strategy_id, lambda conn: strategies.set_mode(conn, strategy_id, new_mode))
    typer.echo(f"strategy {strategy_id} runs {new_mode} from the trading daemons' next refresh")


@app.command("caps")
def caps(
    strategy_id: int = _STRATEGY_ID,
    max_open_orders: int | None = typer.Option(
        None, "--max-open-orders", min=1, max=10_000,
        help="Refuse placements beyond this many open orders."),
    max_position_notional: str | None = typer.Option(
        None, "--max-position-notional",
        help="Refuse opening orders that would take the position past this USDT value."),
    max_session_loss: str | None = typer.Option(
        None, "--max-session-loss",
        help="Past this USDT loss since the run started: cancel all and latch."),
    clear: bool = typer.Option(False, "--clear", help="Remove every cap."),
) -> None:
    """Set a strategy's safety caps (off unless given); the daemons apply them on refresh."""
    from daemons.db import strategies
    from daemons.trading.runtime import CapsError, SafetyCaps

    values = {} if clear else {k: v for k, v in (
        ("max_open_orders", max_open_orders), ("max_position_notional", max_position_notional),
        ("max_session_loss", max_session_loss)) if v is not None}
    try:
        checked = SafetyCaps.from_mapping(values).to_mapping()
    except CapsError as e:
        fail(str(e), USAGE_ERROR)
    _as_owner_admin(strategy_id, lambda conn: strategies.set_caps(conn, strategy_id, checked))
    typer.echo(f"strategy {strategy_id} caps: {json_text(checked) if checked else 'none'}")


@app.command("clear-latch")
def clear_latch(strategy_id: int = _STRATEGY_ID) -> None:
    """Let a strategy latched by a safety cap trade again (after fixing why it latched)."""
    from daemons.db import strategies

    reason = _as_owner_admin(strategy_id, lambda conn: strategies.clear_latch(conn, strategy_id))
    typer.echo(f"strategy {strategy_id}: latch cleared" + (f" (was: {reason})" if reason else
                                                           " (it was not latched)"))


def json_text(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True)
