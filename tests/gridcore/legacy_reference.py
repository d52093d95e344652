"""An independent, literal float implementation of the legacy grid rules (docs/strategy.md 2).

Written from the rule text with plain dicts, as the legacy bot kept its grid, so the
production :class:`gridcore.Grid` can be compared with it float for float. It keeps the
legacy zero-price quirk; comparisons skip the inputs that reach it (deviation D1).
"""

from __future__ import annotations


class LegacyGrid:
    def __init__(self, tick: float, n: int, step: float) -> None:
        self.tick, self.n, self.step = tick, n, step
        self.levels: list[dict] = []
        self.hit_zero_quirk = False

    def rnd(self, price: float) -> float:
        return float(f"{round(price / self.tick) * self.tick:.10f}")

    def build(self, last_close: float | None) -> None:
        if not last_close:
            return
        s = self.step / 100
        self.levels.append({"side": "Wait", "price": self.rnd(last_close)})
        price = last_close
        for _ in range(self.n // 2):
            price = self.rnd(price * (1 + s))
            self.levels.append({"side": "Sell", "price": price})
        price = last_close
        for _ in range(self.n // 2):
            price = self.rnd(price * (1 - s))
            self.levels.insert(0, {"side": "Buy", "price": price})

    def update(self, filled: float | None, close: float | None) -> None:
        if filled is None or close is None:
            return
        prices = [level["price"] for level in self.levels]
        if not (min(prices) < close < max(prices)):
            self.levels = []
            self.build(close)
        for level in self.levels:
            if abs(level["price"] - filled) / level["price"] * 100 < self.step / 4:
                level["side"] = "Wait"
            elif close < level["price"]:
                level["side"] = "Sell"
            elif close > level["price"]:
                level["side"] = "Buy"
        self.centre()

    def centre(self) -> None:
        buys = sum(1 for level in self.levels if level["side"] == "Buy")
        sells = sum(1 for level in self.levels if level["side"] == "Sell")
        highest_sell = 0.0
        for level in self.levels:
            if level["side"] == "Sell":
                highest_sell = level["price"]
        lowest = self.levels[0]["price"] if self.levels else 0.0
        s = self.step / 100
        if buys + sells == 0:
            return
        if (buys - sells) / (buys + sells) > 0.3:
            if sells == 0:
                self.hit_zero_quirk = True
            self.levels.pop(0)
            self.levels.append({"side": "Sell", "price": self.rnd(highest_sell * (1 + s))})
        elif (sells - buys) / (buys + sells) > 0.3:
            self.levels.pop()
            self.levels.insert(0, {"side": "Buy", "price": self.rnd(lowest * (1 - s))})

    def snapshot(self) -> list[tuple[float, str]]:
        return [(level["price"], level["side"]) for level in self.levels]
