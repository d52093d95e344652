"""`gridbot strategies add|list|disable|enable`: grid configs per account and symbol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from daemons.db.cli_support import cli_errors, fail, open_database, print_table, rows_of_account

app = typer.Typer(help="Grid strategies (one per account and symbol).", no_args_is_help=True)

_CONFIG = typer.Option(None, "--config", help="JSON or YAML config file.")
_SET = typer.Option([], "--set", help="Parameter as key=value (repeatable; wins over --config).")


def _load_config(path: Path | None, assignments: list[str]) -> dict[str, Any]:
    """Merge a JSON/YAML file with ``--set k=v`` values (the latter win)."""
    values: dict[str, Any] = {}
    if path is not None:
        import json

        import yaml

        try:
            text = path.read_text()
        except OSError as e:
            fail(f"cannot read config file {path}: {e.strerror}")
        try:
            loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as e:
            fail(f"config file {path} is not valid {path.suffix.lstrip('.') or 'YAML'}: "
                 f"{str(e).splitlines()[0]}")
        if not isinstance(loaded, dict):
            fail(f"config file {path} must hold a mapping of parameters")
        values.update(loaded)
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r}: use key=value")
        values[key.strip()] = value
    return values


@app.command("add")
def add(
    account: str = typer.Option(..., "--account", help="Account name or id."),
    symbol: str = typer.Option(..., "--symbol", help="Linear perpetual, e.g. BTCUSDT."),
    config: Path | None = _CONFIG,
    assignments: list[str] = _SET,
    user: str | None = typer.Option(None, "--user", help="Owner's username."),
) -> None:
    """Add a grid strategy; the config is validated by gridcore before it is stored."""
    from daemons.db import accounts, strategies

    values = _load_config(config, assignments)
    with cli_errors():
        strategies.validate_config(values)
        db = open_database()
        with db.admin() as conn:
            found = accounts.resolve_account(conn, account, user)
        with db.unit_of_work(found.user_id) as conn:
            strategy = strategies.add_strategy(conn, found.account_id, symbol, values)
    typer.echo(f"strategy {strategy.strategy_id} added: {found.username}/{found.account_name} "
               f"{strategy.symbol}")


@app.command("list")
def list_(account: str | None = typer.Option(None, "--account", help="Account name or id."),
          user: str | None = typer.Option(None, "--user", help="Owner's username.")) -> None:
    """List strategies with their configs."""
    import json

    from daemons.db import strategies

    rows, names = rows_of_account(strategies.list_strategies, account, user)
    print_table("strategies", ("id", "account", "symbol", "enabled", "config"),
                [(str(s.strategy_id), names.get(s.account_id, str(s.account_id)), s.symbol,
                  "yes" if s.is_enabled else "no", json.dumps(s.config_json, sort_keys=True))
                 for s in rows], width=200)


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


@app.command("disable")
def disable(strategy_id: int = typer.Argument(..., help="Strategy id (see `list`).")) -> None:
    """Disable a strategy: daemons stop trading it (capture drops its symbol on restart)."""
    _set_enabled(strategy_id, False)


@app.command("enable")
def enable(strategy_id: int = typer.Argument(..., help="Strategy id (see `list`).")) -> None:
    """Enable a strategy again."""
    _set_enabled(strategy_id, True)
