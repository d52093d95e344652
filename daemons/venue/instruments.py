"""The linear perpetuals the venue can list: Bybit's filters, and each one's tape level.

Prices are integer ticks and sizes integer lots inside the venue; an :class:`Instrument`
turns them into Bybit's decimal strings with the symbol's own number of decimals
(``priceScale`` for prices, the ``qtyStep``'s decimals for sizes).

Every symbol's tape is the bundled (BTCUSDT) market scaled to the symbol: prices times
``price_ratio``, sizes divided by it (the same notional per trade), and the generated
tape's trade rate times ``trade_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: The bundled trades, bars and calibration are BTCUSDT's; ``price_ratio`` is relative to it.
REFERENCE_SYMBOL = "BTCUSDT"


@dataclass(frozen=True)
class Instrument:
    """One USDT perpetual: what instruments-info shows and what order entry enforces."""

    symbol: str
    tick_size: Decimal
    qty_step: Decimal
    max_order_qty: Decimal
    max_mkt_order_qty: Decimal
    max_price: Decimal
    symbol_id: int
    price_ratio: float  # the symbol's price level over BTCUSDT's: where its tape trades
    trade_rate: float = 1.0  # share of the bundled tape's trades per second

    @property
    def price_scale(self) -> int:
        """Decimals of a price (Bybit's ``priceScale``): 2 for a tick of ``0.10``."""
        return max(0, -int(self.tick_size.as_tuple().exponent))

    @property
    def qty_scale(self) -> int:
        """Decimals of a size: 3 for a step of ``0.001``, 0 for a step of ``1``."""
        return max(0, -int(self.qty_step.as_tuple().exponent))

    @property
    def base_coin(self) -> str:
        return self.symbol.removesuffix("USDT")

    def price(self, ticks: int) -> Decimal:
        return self.tick_size * ticks

    def qty(self, lots: int) -> Decimal:
        return self.qty_step * lots

    def price_text(self, ticks: int) -> str:
        return f"{self.tick_size * ticks:.{self.price_scale}f}"

    def qty_text(self, lots: int) -> str:
        return f"{self.qty_step * lots:.{self.qty_scale}f}"

    def decimal_price_text(self, price: Decimal) -> str:
        return f"{price:.{self.price_scale}f}"


def _listing(symbol: str, tick: str, step: str, max_qty: str, max_mkt_qty: str,
             max_price: str, symbol_id: int, price_ratio: float,
             trade_rate: float) -> Instrument:
    return Instrument(symbol, Decimal(tick), Decimal(step), Decimal(max_qty),
                      Decimal(max_mkt_qty), Decimal(max_price), symbol_id, price_ratio,
                      trade_rate)


#: Bybit's tick sizes and quantity steps (minOrderQty is one step on all four). BTCUSDT's
#: row is the bundled official sample's; the others' maximum quantities and prices are
#: approximately Bybit's, not checked against a sample. Generated tapes: ETHUSDT about
#: 3,090, SOLUSDT 155, XRPUSDT 0.62. The extra symbols trade at a quarter of BTCUSDT's rate:
#: a trading daemon parses every trade of every symbol it follows on the same machine
#: (docs/venue.md, Performance).
INSTRUMENTS: dict[str, Instrument] = {i.symbol: i for i in (
    _listing("BTCUSDT", "0.10", "0.001", "1190.000", "500.000", "1999999.80", 5, 1.0, 1.0),
    _listing("ETHUSDT", "0.01", "0.01", "7240.00", "3620.00", "199999.98", 6, 0.05, 0.25),
    _listing("SOLUSDT", "0.010", "0.1", "79770.0", "31490.0", "19999.980", 7, 0.0025, 0.25),
    _listing("XRPUSDT", "0.0001", "1", "3220000", "1290000", "199.9998", 8, 0.00001, 0.25),
)}
DEFAULT_SYMBOLS: tuple[Instrument, ...] = tuple(INSTRUMENTS.values())
