"""Strategy configuration: the legacy grid parameters, validated once, frozen after.

Every parameter of the legacy strategy (strategy.md section 1) lives here with its
legacy default, so a config stored as JSON in the database, given on the command line or
snapshotted into a run always means the same thing. Invalid values raise
:class:`ConfigError` naming the field before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

_MULTIPLIER_AMOUNT = re.compile(r"^x(?P<factor>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$")

#: Legacy spelling of a field -> field name, accepted on input only.
_ALIASES = {"grid_step": "grid_step_pct"}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Amount:
    """Order size: a fixed quantity, or a fraction of the wallet balance (``x<f>``).

    ``fixed_qty`` is set for a fixed quantity; ``balance_factor`` for ``x<f>``, meaning
    ``f * wallet balance / price`` base units per order.
    """

    fixed_qty: float | None
    balance_factor: float | None

    @classmethod
    def parse(cls, text: str) -> Amount:
        """Parse ``"0.01"`` or ``"x0.001"``; raise :class:`ConfigError` on anything else."""
        if not isinstance(text, str):
            raise ConfigError("amount", f"expected a string like '0.01' or 'x0.001', got {text!r}")
        raw = text.strip()
        match = _MULTIPLIER_AMOUNT.match(raw)
        if match is not None:
            factor = float(match.group("factor"))
            if not (factor > 0 and math.isfinite(factor)):
                raise ConfigError("amount", f"balance factor must be > 0, got {text!r}")
            return cls(fixed_qty=None, balance_factor=factor)
        try:
            qty = Decimal(raw)
        except InvalidOperation:
            raise ConfigError(
                "amount", f"unknown amount syntax {text!r}: use a quantity like '0.01' or 'x0.001'"
            ) from None
        if not qty.is_finite() or qty <= 0:
            raise ConfigError("amount", f"quantity must be > 0, got {text!r}")
        return cls(fixed_qty=float(qty), balance_factor=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridConfig:
    """Parameters of one grid strategy (one symbol, one account), legacy defaults.

    Parameters
    ----------
    amount:
        Order size, ``"0.01"`` (fixed base quantity) or ``"x0.001"`` (fraction of balance).
    grid_count:
        Number of non-WAIT levels, half below and half above the centre (legacy ``n``).
    grid_step_pct:
        Distance between neighbouring levels in percent (legacy ``grid_step``).
    max_margin:
        Kept for reporting only: the legacy rule that used it is disabled.
    min_liq_ratio, max_liq_ratio:
        Liquidation-distance thresholds of the position check.
    min_total_margin:
        Low-margin threshold of the position check.
    long_koef:
        Extra size factor when the long/short ratio is between 1.1 and 10.
    increase_same_position_on_low_margin:
        Which low-margin rule applies.
    position_check_interval_ms:
        Event time between position checks (legacy: 63 s).
    """

    amount: str
    grid_count: int = 40
    grid_step_pct: float = 0.2
    max_margin: float = 5.0
    min_liq_ratio: float = 0.8
    max_liq_ratio: float = 1.2
    min_total_margin: float = 0.0
    long_koef: float = 1.0
    increase_same_position_on_low_margin: bool = False
    position_check_interval_ms: int = 63_000

    def __post_init__(self) -> None:
        Amount.parse(self.amount)
        _require_int("grid_count", self.grid_count, minimum=2)
        _require_int("position_check_interval_ms", self.position_check_interval_ms, minimum=0)
        for name in ("grid_step_pct", "max_margin", "min_liq_ratio", "max_liq_ratio",
                     "min_total_margin", "long_koef"):
            _require_number(name, getattr(self, name))
        if self.grid_step_pct <= 0 or self.grid_step_pct >= 100:
            raise ConfigError("grid_step_pct", f"must be > 0 and < 100, got {self.grid_step_pct}")
        if self.long_koef <= 0:
            raise ConfigError("long_koef", f"must be > 0, got {self.long_koef}")
        if self.min_liq_ratio < 0 or self.max_liq_ratio < 0:
            name = "min_liq_ratio" if self.min_liq_ratio < 0 else "max_liq_ratio"
            raise ConfigError(name, f"must be >= 0, got {getattr(self, name)}")
        if self.min_total_margin < 0:
            raise ConfigError("min_total_margin", f"must be >= 0, got {self.min_total_margin}")
        if not isinstance(self.increase_same_position_on_low_margin, bool):
            raise ConfigError(
                "increase_same_position_on_low_margin",
                f"must be true or false, got {self.increase_same_position_on_low_margin!r}",
            )

    @property
    def parsed_amount(self) -> Amount:
        """The amount, parsed (validated at construction, so this never raises)."""
        return Amount.parse(self.amount)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GridConfig:
        """Build from a JSON-like mapping, coercing strings such as ``--set k=v`` values.

        Unknown keys are refused (a typo must not silently fall back to a default).
        """
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            name = _ALIASES.get(key, key)
            if name not in known:
                raise ConfigError(key, f"unknown parameter (known: {', '.join(sorted(known))})")
            if name in kwargs:
                raise ConfigError(key, "given twice")
            kwargs[name] = _coerce(name, known[name].type, value)
        if "amount" not in kwargs:
            raise ConfigError("amount", "required (a quantity like '0.01' or 'x0.001')")
        return cls(**kwargs)

    def with_values(self, values: Mapping[str, Any]) -> GridConfig:
        """A copy with some parameters replaced (legacy names accepted), validated again."""
        overrides = {_ALIASES.get(key, key): value for key, value in values.items()}
        return GridConfig.from_mapping({**self.to_mapping(), **overrides})

    def to_mapping(self) -> dict[str, Any]:
        """JSON-serialisable form; ``from_mapping(to_mapping())`` gives an equal config."""
        return asdict(self)


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Turn text (from ``--set`` or JSON) into the field's type, naming the field on error."""
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if kind == "str":
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on"}:
            return True
        if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "off"}:
            return False
        raise ConfigError(name, f"must be true or false, got {value!r}")
    if kind == "int":
        if isinstance(value, bool):
            raise ConfigError(name, f"must be an integer, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(name, f"must be an integer, got {value!r}") from None
        if not number.is_integer():
            raise ConfigError(name, f"must be an integer, got {value!r}")
        return int(number)
    if kind == "float":
        if isinstance(value, bool):
            raise ConfigError(name, f"must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(name, f"must be a number, got {value!r}") from None
    return value


def _require_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(name, f"must be >= {minimum}, got {value}")


def _require_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number, got {value!r}")
