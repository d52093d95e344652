"""Strategy parameters from the command line: a JSON/YAML file plus ``--set KEY=VALUE``.

Every command that takes parameters (``strategies add``, ``backtest``, ``demo``) reads
them with :func:`load_config`, which hands them to ``GridConfig.from_mapping``, the one
place parameters are checked: the same file and options mean the same grid everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gridcore.config import ConfigError, GridConfig

#: Largest config file read: a grid's parameters fit in a few hundred bytes.
MAX_CONFIG_BYTES = 1_000_000


def parse_sets(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; refuses anything without ``=``."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        values[key.strip()] = value.strip()
    return values


class ConfigFileError(ConfigError):
    """The config file cannot be used (unreadable, too large, not a mapping): the file is
    the problem, not one of its parameters."""


def read_mapping(path: Path) -> dict[str, object]:
    """A JSON or YAML file holding one mapping; a file that cannot be read, is not UTF-8
    text, is too large or does not parse is a :class:`ConfigFileError` naming it."""
    import yaml

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigFileError("config", f"cannot read config file {path}: "
                                    f"{error.strerror or type(error).__name__}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigFileError("config", f"{path.name} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError("config", f"{path.name} is not UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigFileError("config", f"{path.name} is not valid JSON/YAML: {detail}") from None
    if not isinstance(data, dict):
        raise ConfigFileError("config", f"{path.name} must hold a mapping of parameters")
    return data


#: Order size when neither a file nor ``--set amount=...`` gives one.
DEFAULT_AMOUNT = "x0.001"


def load_config(path: Path | None, sets: list[str], base: GridConfig | None = None, *,
                default_amount: str | None = DEFAULT_AMOUNT) -> GridConfig:
    """The file's parameters (else ``base``'s, else ``default_amount`` and the defaults),
    with the ``--set`` values winning, checked once by ``GridConfig.from_mapping``.

    ``default_amount`` None: an order size must be given (a stored strategy has no
    implicit size).
    """
    if path is not None:
        values = read_mapping(path)
    elif base is not None:
        values = base.to_mapping()
    else:
        values = {} if default_amount is None else {"amount": default_amount}
    return GridConfig.from_mapping(values, parse_sets(sets))
