"""Strategy parameters from the command line: a JSON/YAML file plus ``--set KEY=VALUE``."""

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


def read_mapping(path: Path) -> dict[str, object]:
    """A JSON or YAML file holding one mapping; a file that cannot be read, is not UTF-8
    text, is too large or does not parse is a :class:`ConfigError` naming it."""
    import yaml

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError("config", f"cannot read config file {path}: "
                                    f"{error.strerror or type(error).__name__}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("config", f"{path.name} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("config", f"{path.name} is not UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError("config", f"{path.name} is not valid JSON/YAML: {detail}") from None
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
