"""Strategy parameters from the command line: a JSON/YAML file plus ``--set KEY=VALUE``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gridcore.config import ConfigError, GridConfig


def parse_sets(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; refuses anything without ``=``."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        values[key.strip()] = value.strip()
    return values


def read_mapping(path: Path) -> dict[str, object]:
    """A JSON or YAML file holding one mapping."""
    import yaml

    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ConfigError("config", f"{path.name} is not valid JSON/YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError("config", f"{path.name} must hold a mapping of parameters")
    return data


#: Order size when neither a file nor ``--set amount=...`` gives one.
DEFAULT_AMOUNT = "x0.001"


def load_config(path: Path | None, sets: list[str], base: GridConfig | None = None) -> GridConfig:
    """The file's parameters (else ``base``, else defaults), with ``--set`` overrides."""
    if path is not None:
        base = GridConfig.from_mapping(read_mapping(path))
    if base is None:
        base = GridConfig(amount=DEFAULT_AMOUNT)
    return base.with_values(parse_sets(sets))
