"""Venue configuration: the accounts file and every tunable of the market.

Secrets arrive only through the accounts file; :class:`AccountSpec` never shows them in
its repr so that a logged config cannot leak a key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from daemons.venue.instruments import DEFAULT_SYMBOLS, INSTRUMENTS, Instrument
from daemons.venue.limits import (
    MAX_DEPTH_QTY,
    MAX_FUNDING_INTERVAL_S,
    MAX_LATENCY_MS,
    MAX_SEED,
    SPEED_RANGE,
    TRADE_RATE_RANGE,
)

CROSS_POLICIES = ("taker", "reject")
LEVERAGE_RANGE = (Decimal(1), Decimal(100))  # BTCUSDT's leverageFilter on Bybit
FUNDING_CAP = Decimal("0.005")  # BTCUSDT's fundingCap: no funding rate beyond it
FEE_RANGE = (Decimal(0), Decimal("0.01"))  # Bybit's fee tiers are all far below 1 %
MAX_USDT = Decimal("1e12")  # a starting balance beyond any account; 1e400 is no balance


MAX_ACCOUNTS_BYTES = 1 << 20  # a thousand accounts fit in a tenth of this


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field."""


@dataclass(frozen=True)
class AccountSpec:
    """One trading account: keys, starting USDT and fee rates.

    ``more_keys`` are further ``(api_key, api_secret)`` pairs of the same account, as Bybit
    lets a user hold several keys: what credential rotation switches between.
    """

    name: str
    api_key: str
    api_secret: str = field(repr=False)
    usdt: Decimal = Decimal("10000")
    maker_fee_rate: Decimal = Decimal("0.0002")
    taker_fee_rate: Decimal = Decimal("0.00055")
    leverage: Decimal = Decimal("10")
    more_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return f"AccountSpec(name={self.name!r}, api_key={self.api_key!r}, api_secret='***')"

    def keys(self) -> dict[str, str]:
        """Every API key of the account, with its secret."""
        return {self.api_key: self.api_secret, **dict(self.more_keys)}


def _decimal(entry: dict[str, Any], key: str, default: str, where: str) -> Decimal:
    raw = entry.get(key, default)
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ConfigError(f"{where}.{key}: not a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as e:
        raise ConfigError(f"{where}.{key}: not a number") from e
    if not value.is_finite() or not 0 <= value <= MAX_USDT:
        raise ConfigError(f"{where}.{key}: must be a number from 0 to {MAX_USDT}")
    return value


def _bounded(entry: dict[str, Any], key: str, default: str, where: str,
             low: Decimal, high: Decimal) -> Decimal:
    """A decimal in ``[low, high]``: a leverage of 0 divided by zero at the first order."""
    value = _decimal(entry, key, default, where)
    if not low <= value <= high:
        raise ConfigError(f"{where}.{key}: must be between {low} and {high}, got {value}")
    return value


def parse_accounts(data: Any) -> tuple[AccountSpec, ...]:
    """Validate the parsed accounts document: a list, or ``{"accounts": [...]}``."""
    entries = data.get("accounts") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise ConfigError("accounts: expected a non-empty list of accounts")
    specs: list[AccountSpec] = []
    for number, entry in enumerate(entries):
        where = f"accounts[{number}]"
        _check_key(entry, where)
        more = entry.get("more_keys", [])
        if not isinstance(more, list):
            raise ConfigError(f"{where}.more_keys: expected a list of api_key/api_secret")
        for k, extra in enumerate(more):
            _check_key(extra, f"{where}.more_keys[{k}]")
        usdt = entry.get("usdt", entry.get("balance_usdt", "10000"))
        name = entry.get("name", f"account{number + 1}")
        if not isinstance(name, str | int) or isinstance(name, bool) or not str(name):
            raise ConfigError(f"{where}.name: must be a non-empty string")
        specs.append(
            AccountSpec(
                name=str(name),
                api_key=entry["api_key"],
                api_secret=entry["api_secret"],
                usdt=_decimal({"usdt": usdt}, "usdt", "10000", where),
                maker_fee_rate=_bounded(entry, "maker_fee_rate", "0.0002", where, *FEE_RANGE),
                taker_fee_rate=_bounded(entry, "taker_fee_rate", "0.00055", where, *FEE_RANGE),
                leverage=_bounded(entry, "leverage", "10", where, *LEVERAGE_RANGE),
                more_keys=tuple((k["api_key"], k["api_secret"]) for k in more),
            )
        )
    keys = [key for s in specs for key in (s.api_key, *(k for k, _ in s.more_keys))]
    if len(set(keys)) != len(keys):
        raise ConfigError("accounts: api_key values must be unique")
    return tuple(specs)


def _check_key(entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping")
    for key in ("api_key", "api_secret"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{where}.{key}: required non-empty string")


def load_accounts(path: Path | str) -> tuple[AccountSpec, ...]:
    """Read an accounts file (``.json``, else YAML) of at most ``MAX_ACCOUNTS_BYTES``.

    Every refusal is a one-line ConfigError that never quotes the file's content (it
    holds secrets): a missing, special (``/dev/zero``), huge, unreadable or binary file.
    """
    source = Path(path)
    where = f"accounts file {shown(str(source))}"
    try:
        if not source.is_file():
            raise ConfigError(f"{where}: not found or not a regular file")
        if source.stat().st_size > MAX_ACCOUNTS_BYTES:
            raise ConfigError(f"{where}: larger than {MAX_ACCOUNTS_BYTES} bytes")
        text = source.read_bytes().decode("utf-8")
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError,
            RecursionError) as e:
        raise ConfigError(f"{where}: cannot read or parse ({type(e).__name__})") from None
    return parse_accounts(data)


def shown(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, so a 10k-character value cannot flood an error."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class VenueConfig:
    """Everything a venue needs; ``symbols`` are the listed perpetuals, the first the default
    (of ``/admin/tape/trades``); default: the four of ``instruments.DEFAULT_SYMBOLS``."""

    accounts: tuple[AccountSpec, ...]
    host: str = "127.0.0.1"
    port: int = 0
    tape: str = "generated"
    seed: int = 1
    speed: float = 1.0
    symbols: tuple[Instrument, ...] = DEFAULT_SYMBOLS
    funding_rate: Decimal = Decimal("0.0001")
    funding_interval_s: int = 8 * 3600
    cross_policy: str = "taker"
    latency_ms_median: float = 15.0
    latency_ms_sigma: float = 0.5
    depth_median_qty: float = 2.0
    depth_sigma: float = 1.0
    depth_growth_per_tick: float = 0.02
    ticker_interval_ms: int = 100
    order_rate_per_s: int = 10
    query_rate_per_s: int = 50
    start_paused: bool = False

    def __post_init__(self) -> None:
        if not self.accounts:
            raise ConfigError("accounts: at least one account is required")
        if self.cross_policy not in CROSS_POLICIES:
            raise ConfigError(f"cross_policy: one of {CROSS_POLICIES}")
        for name, low, high in (
            ("port", 0, 65535), ("seed", 0, MAX_SEED), ("speed", *SPEED_RANGE),
            ("latency_ms_median", 0, MAX_LATENCY_MS), ("depth_median_qty", 0, MAX_DEPTH_QTY),
            ("funding_interval_s", 1, MAX_FUNDING_INTERVAL_S), ("ticker_interval_ms", 1, 60_000),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not low <= value <= high:  # NaN fails too
                raise ConfigError(f"{name}: must be from {low} to {high}, got {value!r}")
        if not self.symbols:
            raise ConfigError("symbols: at least one symbol is required")
        if len({i.symbol for i in self.symbols}) != len(self.symbols):
            raise ConfigError("symbols: each symbol may be listed once")
        for instrument in self.symbols:
            check_instrument(instrument)
        check_funding_rate(self.funding_rate)


def check_instrument(instrument: Instrument) -> None:
    """Steps every price and size is divided by, and a tape rate the generator can play."""
    where = f"symbols.{shown(instrument.symbol)}"
    for name in ("tick_size", "qty_step"):
        step = getattr(instrument, name)
        if not (isinstance(step, Decimal) and step.is_finite() and 0 < step <= 1000):
            raise ConfigError(f"{where}.{name}: must be a Decimal above 0 and at most 1000, "
                              f"got {shown(repr(step))}")
    low, high = TRADE_RATE_RANGE
    if isinstance(instrument.trade_rate, bool) or not low <= instrument.trade_rate <= high:
        raise ConfigError(f"{where}.trade_rate: must be from {low} to {high}, "
                          f"got {shown(repr(instrument.trade_rate))}")


def parse_symbols(text: str) -> tuple[Instrument, ...]:
    """``BTCUSDT,ETHUSDT:0.5``: listed symbols, each with an optional trade rate.

    A rate replaces the table's (a share of the bundled tape's trades per second); only
    the symbols of ``instruments.INSTRUMENTS`` can be listed, since the venue needs each
    one's tick size and quantity step.
    """
    chosen: list[Instrument] = []
    for part in text.split(","):
        name, sep, rate = part.strip().partition(":")
        instrument = INSTRUMENTS.get(name.upper())
        if instrument is None:
            raise ConfigError(f"symbols: unknown symbol {shown(repr(name))}; known: "
                              f"{', '.join(INSTRUMENTS)}")
        if sep:
            try:
                instrument = replace(instrument, trade_rate=float(rate))
            except ValueError:
                raise ConfigError(f"symbols: {shown(repr(part))}: the rate after ':' must be "
                                  "a number") from None
        chosen.append(instrument)
    return tuple(chosen)


def check_funding_rate(rate: Decimal) -> None:
    """A finite rate within the fundingCap: a NaN rate would turn every wallet into NaN.

    Compared, not ``abs()``-ed: arithmetic on ``1e999999999`` overflows the context.
    """
    if not rate.is_finite() or not -FUNDING_CAP <= rate <= FUNDING_CAP:
        raise ConfigError(f"funding_rate: must be a number within ±{FUNDING_CAP}, "
                          f"got {shown(str(rate))}")
