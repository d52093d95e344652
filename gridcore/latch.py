"""The "same order" latch (docs/strategy.md section 7).

If the exchange fills the same grid level twice in a row through two different orders,
something is wrong (a glitch, or a duplicate the bot did not see), and the legacy bot
stopped trading the symbol until the situation cleared. An operator can also clear it.

The legacy bot checked each execution message as a batch: the message's full fills were
put before the four it remembered, the whole list was sorted newest first by execution
time (ties keep that order), checked, and cut back to four. Its "last filled price" was
the first fill of that sorted list. gridcore keeps exactly that: fills received together
(one message, so one receipt time) form one batch; the check is redone after each fill
of the batch on the batch so far, so the state after the last fill is the batch's.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridcore.events import BUY

#: Full fills remembered between batches, newest first (the legacy list was cut to four).
HISTORY = 4


@dataclass(frozen=True, slots=True)
class RecentFill:
    """What the check needs of a full fill."""

    order_id: str
    side: str
    price: float
    closed_something: bool
    exec_ts: int = 0

    @property
    def group(self) -> str:
        """The legacy split: BUY that closed or SELL that opened, versus the reverse.

        (The legacy code named the first group ``long``; the naming does not matter
        because both groups are checked the same way.)
        """
        if (self.side == BUY) == self.closed_something:
            return "a"
        return "b"

    def to_state(self) -> list[object]:
        return [self.order_id, self.side, self.price, self.closed_something, self.exec_ts]

    @classmethod
    def from_state(cls, row: list[object]) -> RecentFill:
        order_id, side, price, closed, exec_ts = row
        return cls(str(order_id), str(side), float(price), bool(closed), int(exec_ts))  # type: ignore[arg-type]


def _doubled(fills: list[RecentFill], group: str) -> bool:
    """The two newest fills of ``group``: same price and side, different orders."""
    newest = [fill for fill in fills if fill.group == group][:2]
    if len(newest) < 2:
        return False
    first, second = newest
    return (first.price == second.price and first.side == second.side
            and first.order_id != second.order_id)


class SameOrderLatch:
    """The remembered fills, the batch being received, and whether the latch is set."""

    __slots__ = ("fills", "is_set", "_before_batch", "_batch", "_batch_key")

    def __init__(self) -> None:
        self.fills: list[RecentFill] = []
        self.is_set = False
        self._before_batch: list[RecentFill] = []
        self._batch: list[RecentFill] = []
        self._batch_key: int | None = None

    def on_full_fill(self, fill: RecentFill, batch_key: int) -> None:
        """Add a full fill to the batch ``batch_key`` (its receipt time) and re-check."""
        if batch_key != self._batch_key:
            self.end_batch()
            self._batch_key = batch_key
        self._batch.append(fill)
        merged = sorted(self._batch + self._before_batch, key=_exec_ts, reverse=True)
        self.is_set = _doubled(merged, "a") or _doubled(merged, "b")
        self.fills = merged[:HISTORY]

    def end_batch(self) -> None:
        """Close the batch being received (anything but a fill arrived)."""
        if self._batch_key is not None:
            self._before_batch = self.fills
            self._batch = []
            self._batch_key = None

    @property
    def newest(self) -> RecentFill | None:
        """The legacy "last filled order": first of the sorted list."""
        return self.fills[0] if self.fills else None

    def clear(self) -> None:
        """Operator action: clear the latch and forget the fills that set it."""
        self.fills = []
        self._before_batch = []
        self._batch = []
        self._batch_key = None
        self.is_set = False

    def to_state(self) -> dict[str, object]:
        return {"is_set": self.is_set,
                "fills": [f.to_state() for f in self.fills],
                "before_batch": [f.to_state() for f in self._before_batch],
                "batch": [f.to_state() for f in self._batch],
                "batch_key": self._batch_key}

    def load_state(self, state: dict[str, object]) -> None:
        self.is_set = bool(state["is_set"])
        self.fills = [RecentFill.from_state(row) for row in state["fills"]]  # type: ignore[union-attr]
        self._before_batch = [RecentFill.from_state(row)
                              for row in state["before_batch"]]  # type: ignore[union-attr]
        self._batch = [RecentFill.from_state(row) for row in state["batch"]]  # type: ignore[union-attr]
        key = state["batch_key"]
        self._batch_key = None if key is None else int(key)  # type: ignore[arg-type]


def _exec_ts(fill: RecentFill) -> int:
    return fill.exec_ts
