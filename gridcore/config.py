"""Strategy configuration: the legacy grid parameters, validated once, frozen after.

Every parameter of the legacy strategy (docs/strategy.md section 1) lives here with its
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

#: Largest fixed order quantity: far above any Bybit maxOrderQty (the largest are in the
#: tens of millions of base units), small enough that sizes stay exact floats.
MAX_FIXED_QTY = 1e9
#: Largest ``x<f>`` factor: Bybit's highest leverage, beyond which no order can be funded.
MAX_BALANCE_FACTOR = 100.0
MAX_GRID_COUNT = 1000
MAX_GRID_STEP_PCT = 50.0
#: ``(low, high, low_inclusive)`` of every float field: finite, within sane limits, so that
#: a stored ``1e400`` or ``-1`` is refused before an engine ever runs it.
_FLOAT_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "grid_step_pct": (0.0, MAX_GRID_STEP_PCT, False),
    "max_margin": (0.0, 1000.0, False),
    "min_liq_ratio": (0.0, 100.0, True),
    "max_liq_ratio": (0.0, 100.0, True),
    "min_total_margin": (0.0, 1000.0, True),
    "long_koef": (0.0, 100.0, False),
}
MAX_CHECK_INTERVAL_MS = 86_400_000  # a day of event time between position checks
_SHOWN = 40  # characters of a refused value echoed in the message


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
            raise ConfigError("amount",
                              f"expected a string like '0.01' or 'x0.001', got {_show(text)}")
        raw = text.strip()
        match = _MULTIPLIER_AMOUNT.match(raw)
        if match is not None:
            factor = float(match.group("factor"))
            if not 0 < factor <= MAX_BALANCE_FACTOR:
                raise ConfigError("amount", f"balance factor must be > 0 and <= "
                                            f"{MAX_BALANCE_FACTOR:g}, got {_show(text)}")
            return cls(fixed_qty=None, balance_factor=factor)
        try:
            qty = Decimal(raw)
        except InvalidOperation:
            raise ConfigError("amount", f"unknown amount syntax {_show(text)}: use a quantity "
                                        "like '0.01' or 'x0.001'") from None
        if not qty.is_finite() or not 0 < qty <= Decimal(MAX_FIXED_QTY):
            raise ConfigError("amount", f"quantity must be > 0 and <= {MAX_FIXED_QTY:g}, "
                                        f"got {_show(text)}")
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
        _require_int("grid_count", self.grid_count, 2, MAX_GRID_COUNT)
        _require_int("position_check_interval_ms", self.position_check_interval_ms, 0,
                     MAX_CHECK_INTERVAL_MS)
        for name, (low, high, low_inclusive) in _FLOAT_BOUNDS.items():
            _require_number(name, getattr(self, name), low, high, low_inclusive)
        if not isinstance(self.increase_same_position_on_low_margin, bool):
            raise ConfigError(
                "increase_same_position_on_low_margin",
                f"must be true or false, got {_show(self.increase_same_position_on_low_margin)}",
            )

    @property
    def parsed_amount(self) -> Amount:
        """The amount, parsed (validated at construction, so this never raises)."""
        return Amount.parse(self.amount)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any],
                     overrides: Mapping[str, Any] | None = None) -> GridConfig:
        """Build from a JSON-like mapping, coercing strings such as ``--set k=v`` values.

        This is the one way parameters from outside (a file, the command line, a stored
        strategy, a run snapshot) become a config. ``overrides`` win over ``values``; a
        legacy name in either stands for its field. Unknown keys are refused (a typo must
        not silently fall back to a default), as is a field given twice in one mapping.
        """
        kwargs = _fields(values)
        kwargs.update(_fields(overrides or {}))
        if "amount" not in kwargs:
            raise ConfigError("amount", "required (a quantity like '0.01' or 'x0.001')")
        return cls(**kwargs)

    def with_values(self, values: Mapping[str, Any]) -> GridConfig:
        """A copy with some parameters replaced (legacy names accepted), validated again."""
        return GridConfig.from_mapping(self.to_mapping(), values)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-serialisable form; ``from_mapping(to_mapping())`` gives an equal config."""
        return asdict(self)


def _fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Field name to coerced value; unknown keys and a field given twice are refused."""
    known = {f.name: f for f in fields(GridConfig)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        name = _ALIASES.get(key, key)
        if name not in known:
            raise ConfigError(key, f"unknown parameter (known: {', '.join(sorted(known))})")
        if name in kwargs:
            raise ConfigError(key, "given twice")
        kwargs[name] = _coerce(name, known[name].type, value)
    return kwargs


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
        raise ConfigError(name, f"must be true or false, got {_show(value)}")
    if kind == "int":
        if isinstance(value, bool):
            raise ConfigError(name, f"must be an integer, got {_show(value)}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(name, f"must be an integer, got {_show(value)}") from None
        if not number.is_integer():
            raise ConfigError(name, f"must be an integer, got {_show(value)}")
        return int(number)
    if kind == "float":
        if isinstance(value, bool):
            raise ConfigError(name, f"must be a number, got {_show(value)}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(name, f"must be a number, got {_show(value)}") from None
    return value


def _cut(text: str) -> str:
    """``text``, cut so that a 10k-character input cannot flood a one-line error."""
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def _show(value: Any) -> str:
    """A refused value as a message shows it: its repr, cut (see :func:`_cut`)."""
    return _cut(repr(value))


def _require_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {_show(value)}")
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {_show(value)}")


def _require_number(name: str, value: Any, low: float, high: float, low_inclusive: bool) -> None:
    """A finite number in ``[low, high]`` (``(low, high]`` unless ``low_inclusive``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number, got {_show(value)}")
    above_low = value >= low if low_inclusive else value > low
    if not (above_low and value <= high):
        low_rule = ">=" if low_inclusive else ">"
        raise ConfigError(name, f"must be {low_rule} {low:g} and <= {high:g}, got {value!r}")
