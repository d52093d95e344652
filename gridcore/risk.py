"""The periodic position check and its size multipliers (strategy.md section 6).

The check looks at both sides of the hedge and the wallet, and leans the next orders:
sell more of a long that is close to liquidation, buy more of a long that is much smaller
than the short, and so on. Its result is a multiplier per (direction, side), applied to
order sizes until the next check.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridcore.config import GridConfig
from gridcore.events import BUY, SELL
from gridcore.intents import LONG, SHORT

Multipliers = dict[tuple[str, str], float]


def neutral_multipliers() -> Multipliers:
    """All four multipliers at 1.0 (rule 6.1)."""
    return {(LONG, BUY): 1.0, (LONG, SELL): 1.0, (SHORT, BUY): 1.0, (SHORT, SELL): 1.0}


@dataclass(slots=True)
class PositionSnapshot:
    """One hedge side as the check needs it; zeros mean empty or unknown."""

    size: float = 0.0
    entry_price: float = 0.0
    leverage: float = 0.0
    liq_price: float = 0.0
    position_value: float = 0.0


def position_ratio(long: PositionSnapshot, short: PositionSnapshot) -> float | None:
    """Long size / short size, or ``None`` when either side is empty."""
    if long.size == 0 or short.size == 0:
        return None
    return long.size / short.size


def long_koef_applies(long: PositionSnapshot, short: PositionSnapshot) -> bool:
    """Rule 5.3: 1.1 < position ratio < 10 and neither side has a liquidation price."""
    ratio = position_ratio(long, short)
    return ratio is not None and 1.1 < ratio < 10 and long.liq_price == 0 and short.liq_price == 0


def _upnl_pct(entry: float, last_close: float, leverage: float) -> float:
    """Long unrealised PnL in percent of margin, ``(1/E - 1/C) × E × 100 × λ``.

    The short side's is its negation. An entry of 0 has no PnL instead of a division by
    zero. An empty side never gets here (the check stops at rule 6.3 first); a side
    reported with a size but no entry price (a position message without ``avgPrice``
    parses to entry 0) does (docs/deviations.md, D2).
    """
    if entry == 0:
        return 0.0
    return (1 / entry - 1 / last_close) * entry * 100 * leverage


def _low_margin(config: GridConfig, direction: str, result: Multipliers) -> None:
    """Rule 6.6: grow the opening side, or shrink the closing side, of ``direction``."""
    if config.increase_same_position_on_low_margin:
        result[(LONG, BUY) if direction == LONG else (SHORT, SELL)] = 2.0
    else:
        result[(LONG, SELL) if direction == LONG else (SHORT, BUY)] = 0.5


def check_positions(
    config: GridConfig,
    long: PositionSnapshot,
    short: PositionSnapshot,
    wallet_balance: float | None,
    last_close: float,
) -> Multipliers:
    """Run rules 6.1 to 6.6 and return the multipliers until the next check."""
    result = neutral_multipliers()
    ratio = position_ratio(long, short)
    if ratio is None or not last_close > 0:
        return result
    balance = wallet_balance or 0.0
    long_margin = long.position_value / balance if balance > 0 else 0.0
    short_margin = short.position_value / balance if balance > 0 else 0.0
    margins_equal = short_margin > 0 and 0.94 < long_margin / short_margin < 1.05
    low_total = long_margin + short_margin < config.min_total_margin

    long_upnl = _upnl_pct(long.entry_price, last_close, long.leverage)
    long_liq = long.liq_price / last_close
    if long_liq > 1.05 * config.min_liq_ratio:
        result[(LONG, SELL)] = 1.5
    elif long_liq > config.min_liq_ratio:
        result[(SHORT, BUY)] = 0.5
    elif margins_equal and low_total:
        _low_margin(config, LONG, result)
    elif ratio < 0.5 and long_upnl < 0:
        result[(LONG, BUY)] = 2.0
    elif ratio < 0.20:
        result[(LONG, BUY)] = 2.0

    short_upnl = -_upnl_pct(short.entry_price, last_close, short.leverage)
    short_liq = short.liq_price / last_close
    if 0 < short_liq < 0.95 * config.max_liq_ratio:
        result[(SHORT, BUY)] = 1.5
    elif 0 < short_liq < config.max_liq_ratio:
        result[(LONG, SELL)] = 0.5
    elif margins_equal and low_total:
        _low_margin(config, SHORT, result)
    elif ratio > 2.0 and short_upnl < 0:
        result[(SHORT, SELL)] = 2.0
    elif ratio > 5.0:
        result[(SHORT, SELL)] = 2.0
    return result
