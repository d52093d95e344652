"""The periodic position check and its size multipliers (docs/strategy.md section 6).

The check looks at both sides of the hedge and the wallet, and leans the next orders:
sell more of a long that is close to liquidation, buy more of a long that is much smaller
than the short, and so on. Its result is a multiplier per (direction, side), applied to
order sizes until the next check.

The legacy bot's check had an order of evaluation that changes its outcome, and gridcore
reproduces it (docs/strategy.md, rules 6.3 to 6.7):

* the rules read the position ratio stored by the *previous* check (1.0 before any), and
  the new ratio is stored only after both directions' rules ran;
* the long side's "margins equal" test compares the long margin of this check with the
  short margin of the previous one (the short side is refreshed after the long side);
* an empty side (entry price 0) ends the check where the legacy bot divided by it.

What the check read is kept (:class:`CheckState`): the closing-order guard (rule 3.5) and
``long_koef`` (rule 5.3) read the positions and the ratio of the last check, not the
newest position events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gridcore.config import GridConfig
from gridcore.events import BUY, SELL
from gridcore.intents import LONG, SHORT

Multipliers = dict[tuple[str, str], float]


def neutral_multipliers() -> Multipliers:
    """All four multipliers at 1.0 (rule 6.1)."""
    return {(LONG, BUY): 1.0, (LONG, SELL): 1.0, (SHORT, BUY): 1.0, (SHORT, SELL): 1.0}


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """One hedge side as the check needs it; zeros mean empty or unknown."""

    size: float = 0.0
    entry_price: float = 0.0
    leverage: float = 0.0
    liq_price: float = 0.0
    position_value: float = 0.0


@dataclass(frozen=True, slots=True)
class CheckState:
    """What the last position check left behind for sizing and for the next check.

    ``positions`` are the sides as the check read them; ``ratio`` is long size / short size
    of the last check that could compute it (``None`` before); ``margins`` is each side's
    position value / wallet balance at its last refresh (``None`` before the first).
    """

    multipliers: Multipliers = field(default_factory=neutral_multipliers)
    positions: tuple[PositionSnapshot, PositionSnapshot] = (PositionSnapshot(),
                                                             PositionSnapshot())
    ratio: float | None = None
    margins: tuple[float | None, float | None] = (None, None)

    def position(self, direction: str) -> PositionSnapshot:
        """The side ``direction`` as the last check read it."""
        return self.positions[0 if direction == LONG else 1]

    def long_koef_applies(self) -> bool:
        """Rule 5.3: 1.1 < ratio < 10 and neither side, as checked, has a liquidation price."""
        long, short = self.positions
        return (self.ratio is not None and 1.1 < self.ratio < 10
                and long.liq_price == 0 and short.liq_price == 0)

    def sizing_view(self) -> tuple[object, ...]:
        """Everything of the check that a strategy step reads (for the engine's fast path)."""
        long, short = self.positions
        return (tuple(sorted(self.multipliers.items())), long.size, short.size,
                self.long_koef_applies())


def _upnl_pct(entry: float, last_close: float, leverage: float) -> float:
    """Long unrealised PnL in percent of margin, ``(1/E - 1/C) × E × 100 × λ``.

    The short side's is its negation. Only called with an entry price: the check ends at
    an entry of 0 (rule 6.7).
    """
    return (1 / entry - 1 / last_close) * entry * 100 * leverage


def _margins_equal(margin: float, other: float) -> bool:
    """Rule 6.4: 0.94 < margin / other < 1.05; never equal to an empty other side."""
    return other != 0 and 0.94 < margin / other < 1.05


def _low_margin(config: GridConfig, direction: str, result: Multipliers) -> None:
    """Rule 6.6: grow the opening side, or shrink the closing side, of ``direction``."""
    if config.increase_same_position_on_low_margin:
        result[(LONG, BUY) if direction == LONG else (SHORT, SELL)] = 2.0
    else:
        result[(LONG, SELL) if direction == LONG else (SHORT, BUY)] = 0.5


def run_position_check(
    config: GridConfig,
    long: PositionSnapshot,
    short: PositionSnapshot,
    wallet_balance: float | None,
    last_close: float,
    previous: CheckState,
) -> CheckState:
    """Run rules 6.1 to 6.7 on the newest positions; return what the check leaves behind.

    Deviation D2 (docs/deviations.md): where the legacy check stopped at an empty side
    before reading the other side, gridcore still reads both sides (the multipliers and
    the ratio are exactly the legacy ones).
    """
    result = neutral_multipliers()
    rule_ratio = 1.0 if previous.ratio is None else previous.ratio
    long_margin, short_margin = previous.margins

    def done(ratio: float | None = previous.ratio) -> CheckState:
        return CheckState(result, (long, short), ratio, (long_margin, short_margin))

    # Rule 6.2; with no wallet known yet (or an empty one) no margin counts.
    balance = wallet_balance if wallet_balance is not None and wallet_balance > 0 else None
    long_margin = long.position_value / balance if balance is not None else 0.0
    if long.entry_price == 0:
        return done()  # rule 6.7: an empty long ends the check
    long_upnl = _upnl_pct(long.entry_price, last_close, long.leverage)
    long_liq = long.liq_price / last_close
    if long_liq > 1.05 * config.min_liq_ratio:
        result[(LONG, SELL)] = 1.5
    elif long_liq > config.min_liq_ratio:
        result[(SHORT, BUY)] = 0.5
    elif short_margin is None:
        long_margin = 0.0  # rule 6.4: no short margin read yet ends the long rules
    elif (_margins_equal(long_margin, short_margin)
          and long_margin + short_margin < config.min_total_margin):
        _low_margin(config, LONG, result)
    elif rule_ratio < 0.5 and long_upnl < 0:
        result[(LONG, BUY)] = 2.0
    elif rule_ratio < 0.20:
        result[(LONG, BUY)] = 2.0

    short_margin = short.position_value / balance if balance is not None else 0.0
    if short.entry_price == 0:
        return done()  # rule 6.7: an empty short ends the check after the long rules
    short_upnl = -_upnl_pct(short.entry_price, last_close, short.leverage)
    short_liq = short.liq_price / last_close
    if 0 < short_liq < 0.95 * config.max_liq_ratio:
        result[(SHORT, BUY)] = 1.5
    elif 0 < short_liq < config.max_liq_ratio:
        result[(LONG, SELL)] = 0.5
    elif (_margins_equal(short_margin, long_margin)
          and short_margin + long_margin < config.min_total_margin):
        _low_margin(config, SHORT, result)
    elif rule_ratio > 2.0 and short_upnl < 0:
        result[(SHORT, SELL)] = 2.0
    elif rule_ratio > 5.0:
        result[(SHORT, SELL)] = 2.0
    return done(long.size / short.size if short.size != 0 else previous.ratio)
