"""Price and quantity rounding, exactly as the legacy bot computed them.

The legacy bot used floats: ``round(price / tick) * tick``, formatted to 10 decimals and
read back (so 4.77 stays 4.77 instead of 4.7700000000000005). Grid parity means the same
floats, so the grid keeps this arithmetic; everything sent to the exchange is converted
to ``Decimal`` at the edge with :func:`to_decimal`.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache


def round_to_tick(price: float, tick: float) -> float:
    """The legacy tick rounding (Python's round-half-even on ``price / tick``)."""
    return float(f"{round(price / tick) * tick:.10f}")


def price_to_ticks(price: float, tick: float) -> int:
    """Whole ticks of an on-tick price; used in order ids and integer hot loops."""
    return round(price / tick)


@lru_cache(maxsize=65_536)
def round_up_to_step(qty: float, step: float) -> float:
    """Round a quantity up to a multiple of ``step``, in decimal, read back as a float.

    The quantity is read at 10 decimals first, as the legacy bot formatted it, so float
    noise never adds a step: float ``ceil(0.007 / 0.001)`` is 8 steps and
    ``0.1 * 1.5 = 0.15000000000000002`` would round up to 0.151; here they give 7 steps
    and 0.15. Memoised: a grid asks for the same few sizes over and over.
    """
    if qty <= 0:
        return 0.0
    step_dec = Decimal(repr(step))
    steps = (Decimal(f"{qty:.10f}") / step_dec).to_integral_value(rounding=ROUND_CEILING)
    return float(f"{steps * step_dec:.10f}")


def decimals_of(step: float) -> int:
    """Number of decimals needed to print multiples of ``step`` exactly (0.1 -> 1)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def to_decimal(value: float, decimals: int) -> Decimal:
    """A float price or quantity as the exact decimal string the exchange expects."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return Decimal(f"{value:.{decimals}f}")


def is_too_close(price: float, last_filled_price: float, too_close_pct: float) -> bool:
    """Rule 2.U.2: a level this near the last fill becomes WAIT, whatever the close."""
    return abs(price - last_filled_price) / price * 100 < too_close_pct
