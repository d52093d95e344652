"""Rule 1: configuration per strategy, validated before anything runs."""

from __future__ import annotations

import pytest

from gridcore.config import Amount, ConfigError, GridConfig
from tests.gridcore.conftest import SYMBOL, make_engine


def test_config_defaults_match_legacy_defaults() -> None:
    """Rule 1: legacy defaults n=40, s=0.2, max_margin 5, liq 0.8/1.2, margin 0, koef 1."""
    config = GridConfig(amount="0.01")
    assert (config.grid_count, config.grid_step_pct, config.max_margin) == (40, 0.2, 5.0)
    assert (config.min_liq_ratio, config.max_liq_ratio) == (0.8, 1.2)
    assert (config.min_total_margin, config.long_koef) == (0.0, 1.0)
    assert config.increase_same_position_on_low_margin is False


@pytest.mark.parametrize("count", [1, 0, -4])
def test_config_grid_count_below_two_is_refused(count: int) -> None:
    """Rule 1: n < 2 is refused with a message naming the field."""
    with pytest.raises(ConfigError, match="grid_count"):
        GridConfig(amount="0.01", grid_count=count)


def test_config_grid_count_two_is_accepted() -> None:
    """Rule 1: n = 2 is the smallest valid grid."""
    assert GridConfig(amount="0.01", grid_count=2).grid_count == 2


@pytest.mark.parametrize("step", [0.0, -0.5])
def test_config_grid_step_not_positive_is_refused(step: float) -> None:
    """Rule 1: s <= 0 is refused with a message naming the field."""
    with pytest.raises(ConfigError, match="grid_step"):
        GridConfig(amount="0.01", grid_step_pct=step)


@pytest.mark.parametrize("text", ["abc", "x", "xx0.1", "0.01x", "", "-0.01", "0", "x0",
                                  "x-0.1", "NaN", "X0.001"])
def test_config_unknown_amount_syntax_is_refused(text: str) -> None:
    """Rule 1: an amount that is neither a positive quantity nor x<f> is refused."""
    with pytest.raises(ConfigError, match="amount"):
        GridConfig(amount=text)


@pytest.mark.parametrize(("text", "fixed", "factor"), [
    ("0.01", 0.01, None), ("x0.001", None, 0.001), ("x0.003", None, 0.003), ("1", 1.0, None),
])
def test_amount_parse_valid_syntax_gives_fixed_or_factor(text, fixed, factor) -> None:
    """Rule 1: "0.01" is a fixed quantity, "x<f>" a fraction f of the wallet balance."""
    assert Amount.parse(text) == Amount(fixed_qty=fixed, balance_factor=factor)


@pytest.mark.parametrize(("key", "text"), [
    ("grid_count", "1e10"), ("grid_count", "1001"), ("grid_count", "1e400"),
    ("grid_count", "nan"), ("grid_step", "50.01"), ("grid_step", "inf"), ("grid_step", "nan"),
    ("amount", "1e400"), ("amount", "1e10"), ("amount", "x101"), ("amount", "x1e400"),
    ("amount", "Infinity"), ("max_margin", "-1"), ("max_margin", "0"), ("max_margin", "1e400"),
    ("max_margin", "nan"), ("min_liq_ratio", "-0.1"), ("max_liq_ratio", "1e300"),
    ("min_total_margin", "-1"), ("min_total_margin", "inf"), ("long_koef", "0"),
    ("long_koef", "1e6"), ("position_check_interval_ms", "-1"),
    ("position_check_interval_ms", "1e12"),
])
def test_config_set_value_out_of_bounds_is_refused_naming_the_field(key: str, text: str) -> None:
    """Rule 1: what ``--set key=text`` gives is bounded: finite, positive where it must be,
    below a sane maximum; the error names the field (legacy ``grid_step`` included)."""
    with pytest.raises(ConfigError, match=key):
        GridConfig.from_mapping({"amount": "0.01", key: text})


@pytest.mark.parametrize(("key", "text"), [
    ("grid_count", "1000"), ("grid_step", "50"), ("amount", "1e9"), ("amount", "x100"),
    ("max_margin", "1000"), ("min_liq_ratio", "0"), ("min_total_margin", "0"),
    ("long_koef", "100"), ("position_check_interval_ms", "0"),
])
def test_config_set_value_at_a_bound_is_accepted(key: str, text: str) -> None:
    """Rule 1: the bounds themselves are valid values (the limits are inclusive there)."""
    GridConfig.from_mapping({"amount": "0.01", key: text})


def test_config_error_for_a_huge_value_stays_short() -> None:
    """A 10k-character value is refused with a message that does not repeat it whole."""
    with pytest.raises(ConfigError, match="amount") as error:
        GridConfig.from_mapping({"amount": "9" * 10_000})
    assert len(str(error.value)) < 200


@pytest.mark.parametrize("tick", ["0", "-0.1", "abc"])
def test_engine_tick_size_not_positive_is_refused(tick: str) -> None:
    """Rule 1: tick <= 0 is refused before anything runs, naming tick_size."""
    with pytest.raises(ValueError, match="tick_size"):
        make_engine(tick=tick)


def test_engine_qty_step_not_positive_is_refused() -> None:
    """Rule 1: the instrument's qty_step must be positive too."""
    with pytest.raises(ValueError, match="qty_step"):
        make_engine(qty_step="0")


def test_config_from_mapping_legacy_name_grid_step_is_accepted() -> None:
    """Rule 1: the legacy spelling grid_step is read as grid_step_pct; strings coerced."""
    config = GridConfig.from_mapping({"amount": "x0.001", "grid_step": "0.45", "grid_count": "20"})
    assert (config.grid_step_pct, config.grid_count) == (0.45, 20)


def test_config_from_mapping_overrides_win_whatever_name_they_use() -> None:
    """A file's parameters with --set overrides: one call, legacy names on either side."""
    config = GridConfig.from_mapping({"grid_step_pct": "0.2", "grid_count": 20},
                                     {"grid_step": "0.5", "amount": "x0.002"})
    assert (config.grid_step_pct, config.grid_count, config.amount) == (0.5, 20, "x0.002")


def test_config_from_mapping_amount_may_come_from_the_overrides_only() -> None:
    assert GridConfig.from_mapping({"grid_count": 12}, {"amount": "0.01"}).amount == "0.01"


def test_config_from_mapping_unknown_key_is_refused() -> None:
    """Rule 1: a typo never falls back silently to a default."""
    with pytest.raises(ConfigError, match="grid_cuont"):
        GridConfig.from_mapping({"amount": "0.01", "grid_cuont": 20})


def test_config_round_trip_through_mapping_is_equal() -> None:
    """Rule 1: a stored config means the same thing when read back."""
    config = GridConfig(amount="x0.003", grid_count=20, grid_step_pct=0.75,
                        increase_same_position_on_low_margin=True, min_total_margin=2)
    assert GridConfig.from_mapping(config.to_mapping()) == config


def test_engine_valid_config_builds_nothing_before_a_price() -> None:
    """Rule 1/2: a valid config starts with an empty grid (built on the first price)."""
    engine = make_engine()
    assert engine.symbol == SYMBOL
    assert engine.grid.levels == []
