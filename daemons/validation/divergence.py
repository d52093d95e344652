"""The first decision where the live engine and a replay's engine parted ways.

Two engines that saw the same events make the same decisions in the same order. Decisions
are compared by what they do, not by the ids they carry: a placement by its decoded key
(strategy, direction, side, price in ticks), price and quantity, a cancel by the decoded
key of the order it cancels. The first index where the sequences differ is the
divergence; everything after it follows from it and is not compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemons.validation.inputs import Decision
from gridcore import order_ids


@dataclass(frozen=True, slots=True)
class Divergence:
    """The decisions at the first differing index (``None``: that side had no more)."""

    index: int
    live: Decision | None
    replay: Decision | None

    @property
    def ts(self) -> int:
        """When it happened: the triggering event's time (the live one's when both exist)."""
        decision = self.live if self.live is not None else self.replay
        assert decision is not None
        return decision.ts


def identity(decision: Decision) -> tuple[object, ...]:
    """What a decision does, without the order id's sequence."""
    key = order_ids.decode(decision.order_link_id or "")
    target: object = key.match_key if key is not None else decision.order_link_id
    if decision.intent_kind == "place":
        return ("place", target, decision.side, decision.price, decision.qty)
    return (decision.intent_kind, target)


def first_divergence(live: Sequence[Decision], replay: Sequence[Decision]) -> Divergence | None:
    """The first index where the two sequences differ, ``None`` when they are the same."""
    for index in range(max(len(live), len(replay))):
        a = live[index] if index < len(live) else None
        b = replay[index] if index < len(replay) else None
        if a is None or b is None or identity(a) != identity(b):
            return Divergence(index, a, b)
    return None
