"""The "same order" latch (strategy.md section 7).

If the exchange fills the same grid level twice in a row through two different orders,
something is wrong (a glitch, or a duplicate the bot did not see), and the legacy bot
stopped trading the symbol until the situation cleared. The latch is re-evaluated on every
full fill; an operator can also clear it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridcore.events import BUY

#: Full fills remembered, newest first; two per group are enough for the check.
HISTORY = 10


@dataclass(frozen=True, slots=True)
class RecentFill:
    """What the check needs of a full fill."""

    order_id: str
    side: str
    price: float
    closed_something: bool

    @property
    def group(self) -> str:
        """The legacy split: BUY that closed or SELL that opened, versus the reverse.

        (The legacy code named the first group ``long``; the naming does not matter
        because both groups are checked the same way.)
        """
        if (self.side == BUY) == self.closed_something:
            return "a"
        return "b"


class SameOrderLatch:
    """Keeps the last fills and whether the latch is set."""

    __slots__ = ("fills", "is_set")

    def __init__(self) -> None:
        self.fills: list[RecentFill] = []
        self.is_set = False

    def on_full_fill(self, fill: RecentFill) -> None:
        """Remember the fill and re-evaluate the latch."""
        self.fills.insert(0, fill)
        del self.fills[HISTORY:]
        self.is_set = any(self._doubled(group) for group in ("a", "b"))

    def _doubled(self, group: str) -> bool:
        newest = [fill for fill in self.fills if fill.group == group][:2]
        if len(newest) < 2:
            return False
        first, second = newest
        return (first.price == second.price and first.side == second.side
                and first.order_id != second.order_id)

    def clear(self) -> None:
        """Operator action: clear the latch and forget the fills that set it."""
        self.fills.clear()
        self.is_set = False

    def to_state(self) -> dict[str, object]:
        return {"is_set": self.is_set,
                "fills": [[f.order_id, f.side, f.price, f.closed_something] for f in self.fills]}

    def load_state(self, state: dict[str, object]) -> None:
        self.is_set = bool(state["is_set"])
        self.fills = [RecentFill(str(o), str(s), float(p), bool(c))
                      for o, s, p, c in state["fills"]]  # type: ignore[union-attr]

