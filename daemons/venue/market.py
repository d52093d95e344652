"""Public market state: last price, touch, tick direction, rolling stats, recent trades.

The touch is inferred from the last print with a one-tick spread (a sell print hit the
bid, a buy print lifted the ask), which is how BTCUSDT trades nearly all the time. One
MarketState per listed symbol.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from daemons.venue.instruments import Instrument

MINUTE_MS = 60_000
DAY_MINUTES = 1440


def _cached(cache: dict[int, str], key: int, make: Callable[[], str]) -> str:
    text = cache.get(key)
    if text is None:
        if len(cache) > 100_000:
            cache.clear()
        text = cache[key] = make()
    return text


@dataclass
class Candle:
    """One minute of prints: open, high, low, close in ticks; volume and turnover."""

    start_ms: int
    open: int
    high: int
    low: int
    close: int
    volume_lots: int = 0
    turnover_units: int = 0  # sum of ticks x lots: exact, turned into USDT when read


@dataclass
class MarketState:
    """What every public endpoint and stream reports, updated print by print."""

    inst: Instrument
    funding_rate: Decimal
    last_ticks: int = 0
    last_side: str = "Buy"
    tick_direction: str = "ZeroPlusTick"
    last_ts_ms: int = 0
    trade_seq: int = 0
    next_funding_ms: int = 0
    candles: OrderedDict[int, Candle] = field(default_factory=OrderedDict)
    recent: deque[dict[str, object]] = field(default_factory=lambda: deque(maxlen=1000))
    funding_history: deque[tuple[int, Decimal]] = field(default_factory=lambda: deque(maxlen=200))
    _prices: dict[int, str] = field(default_factory=dict, repr=False)
    _qtys: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def symbol(self) -> str:
        return self.inst.symbol

    @property
    def bid_ticks(self) -> int:
        return self.last_ticks if self.last_side == "Sell" else self.last_ticks - 1

    @property
    def ask_ticks(self) -> int:
        return self.bid_ticks + 1

    def price_str(self, ticks: int) -> str:
        """Ticks as Bybit's price string, cached: the same few prices print all day."""
        return _cached(self._prices, ticks, lambda: self.inst.price_text(ticks))

    def qty_str(self, lots: int) -> str:
        return _cached(self._qtys, lots, lambda: self.inst.qty_text(lots))

    def turnover(self, units: int) -> Decimal:
        return self.inst.tick_size * self.inst.qty_step * units

    def seed_price(self, ticks: int, side: str) -> None:
        """Set the touch before the first print (from the tape's first trade)."""
        if self.last_ticks == 0:
            self.last_ticks, self.last_side = ticks, side

    def record_print(self, ts_ms: int, side: str, ticks: int, lots: int, trade_id: str) -> dict:
        """Apply one public trade and return its ``publicTrade`` item."""
        if ticks > self.last_ticks:
            self.tick_direction = "PlusTick"
        elif ticks < self.last_ticks:
            self.tick_direction = "MinusTick"
        elif self.tick_direction in ("PlusTick", "MinusTick"):
            self.tick_direction = "Zero" + self.tick_direction
        self.last_ticks, self.last_side, self.last_ts_ms = ticks, side, ts_ms
        self.trade_seq += 1
        self._candle(ts_ms, ticks, lots)
        item = {
            "T": ts_ms, "s": self.inst.symbol, "S": side, "v": self.qty_str(lots),
            "p": self.price_str(ticks), "L": self.tick_direction, "i": trade_id,
            "BT": False, "seq": self.trade_seq,
        }
        self.recent.append(item)
        return item

    def _candle(self, ts_ms: int, ticks: int, lots: int) -> None:
        start = ts_ms - ts_ms % MINUTE_MS
        candle = self.candles.get(start)
        if candle is None:
            candle = self.candles[start] = Candle(start, ticks, ticks, ticks, ticks)
            while len(self.candles) > DAY_MINUTES + 60:
                self.candles.popitem(last=False)
        candle.high, candle.low = max(candle.high, ticks), min(candle.low, ticks)
        candle.close = ticks
        candle.volume_lots += lots
        candle.turnover_units += ticks * lots

    def price_at_or_before(self, ts_ms: int) -> int:
        """The close of the last candle that started at or before ``ts_ms`` (else first)."""
        chosen = None
        for start, candle in self.candles.items():
            if start > ts_ms:
                break
            chosen = candle
        if chosen is None:
            first = next(iter(self.candles.values()), None)
            return first.open if first is not None else self.last_ticks
        return chosen.close

    def day_stats(self, now_ms: int) -> dict[str, object]:
        """High, low, volume and turnover of the last 24 hours of venue time."""
        cutoff = now_ms - DAY_MINUTES * MINUTE_MS
        day = [c for s, c in self.candles.items() if s >= cutoff]
        if not day:
            return {"high": self.last_ticks, "low": self.last_ticks, "lots": 0,
                    "turnover": Decimal(0)}
        return {
            "high": max(c.high for c in day), "low": min(c.low for c in day),
            "lots": sum(c.volume_lots for c in day),
            "turnover": self.turnover(sum(c.turnover_units for c in day)),
        }
