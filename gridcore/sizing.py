"""Order quantity (docs/strategy.md section 5).

Floats as in the legacy bot; the rounding up to the quantity step is done in decimal (see
:func:`gridcore.prices.round_up_to_step`).
"""

from __future__ import annotations

from gridcore.config import Amount
from gridcore.prices import round_up_to_step

#: The legacy minimum order notional, in USDT (Bybit's minimum for linear perpetuals).
MIN_NOTIONAL_USDT = 5.0


def order_qty(
    amount: Amount,
    price: float,
    qty_step: float,
    balance: float | None,
    multiplier: float,
    koef: float,
) -> float | None:
    """Quantity for one grid order at ``price``, or ``None`` if it cannot be sized yet.

    Parameters
    ----------
    amount:
        Fixed quantity or fraction of the balance.
    balance:
        Wallet balance in USD; ``None`` until the first wallet event. A balance-relative
        amount cannot be sized without it (the legacy bot would have failed the step).
    multiplier:
        The position check's multiplier for this direction and side (section 6).
    koef:
        ``long_koef`` when it applies (rule 5.3), else 1.
    """
    if amount.fixed_qty is not None:
        base = amount.fixed_qty
    else:
        if balance is None or amount.balance_factor is None:
            return None
        base = round_up_to_step(balance / price * amount.balance_factor, qty_step)
    minimum = max(round_up_to_step(MIN_NOTIONAL_USDT / price, qty_step), qty_step)
    base = max(base, minimum)
    return round_up_to_step(base * multiplier * koef, qty_step)
