"""Why a fill has no twin, or a far-off one (docs/validation.md, "Comparison").

Each unmatched or far-off fill gets the first reason that holds, in this order:

1. *data gap*: a recorded capture gap overlaps the fill's time (give or take the order
   latency; for a far-off pair, anywhere between the two fills);
2. *latency*: the fill came within the run's order latency of a placement or a cancel of
   the other side's order of the same key, or of its own order while the other side's
   rested (the two sides' requests land at different moments within that latency); a fill
   right after its own placement is no latency when the other side held no order of that
   key at all (its engine decided otherwise);
3. *queue*: the other side's order of the same key was resting (or nobody knows), and the
   market touched the price but never traded through it (a fill there depends on the queue
   ahead of the order, which the two sides judge differently);
4. *engine divergence*: otherwise; the other side's engine did not hold that order then
   (or traded through it without a fill), so its decisions differed: see the first
   diverging decision.

Orders' lifetimes come from each side's decisions (placement and cancel times) and fills;
an order resting at the seed (``open_at_start``) counts as placed before the window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from daemons.validation.inputs import CaptureGap, Decision
from daemons.validation.market import MarketIndex
from daemons.validation.matching import MatchKey, OrderFill, Pair
from daemons.validation.targets import TIMING_DRIFT_MAX_MS
from gridcore import order_ids

NEVER = 2**62


class Reason(StrEnum):
    QUEUE = "queue"
    LATENCY = "latency"
    DATA_GAP = "data gap"
    DIVERGENCE = "engine divergence"


class Kind(StrEnum):
    MISSED = "missed"  # a live fill the replay did not make
    PHANTOM = "phantom"  # a replay fill live did not make
    FAR_OFF = "far-off"  # a pair beyond the slippage or timing target


@dataclass(frozen=True, slots=True)
class Explained:
    """One unmatched or far-off fill and its most likely reason."""

    kind: Kind
    order: OrderFill
    twin: OrderFill | None
    reason: Reason
    detail: str


@dataclass(slots=True)
class Life:
    """When one order could fill: from its placement to its cancel or its last fill."""

    link: str
    key: MatchKey
    placed_ts: int
    cancel_ts: int | None = None
    qty: Decimal | None = None
    filled_ts: int | None = None

    def end(self, latency_ms: int) -> int:
        """The last moment it could fill (a cancel lands ``latency_ms`` after its decision)."""
        ends = [NEVER]
        if self.cancel_ts is not None:
            ends.append(self.cancel_ts + latency_ms)
        if self.filled_ts is not None:
            ends.append(self.filled_ts)
        return min(ends)


class OrderLives:
    """Every order of one side, by client id and by key."""

    def __init__(self, decisions: Sequence[Decision], orders: Iterable[OrderFill],
                 open_at_start: Iterable[str], latency_ms: int) -> None:
        self.latency_ms = latency_ms
        self.known = bool(decisions)
        self.by_link: dict[str, Life] = {}
        for link in open_at_start:
            self._life(link, -NEVER)
        for decision in decisions:
            link = decision.order_link_id or ""
            if decision.intent_kind == "place":
                life = self._life(link, decision.ts)
                if life is not None:
                    life.qty = decision.qty
            elif link in self.by_link and self.by_link[link].cancel_ts is None:
                self.by_link[link].cancel_ts = decision.ts
        for order in orders:
            life = self.by_link.get(order.order_link_id) or self._life(order.order_link_id, -NEVER)
            if life is not None and (life.qty is None or order.qty >= life.qty):
                life.filled_ts = order.last_ts
        self.by_key: dict[MatchKey, list[Life]] = defaultdict(list)
        for life in self.by_link.values():
            self.by_key[life.key].append(life)

    def _life(self, link: str, placed_ts: int) -> Life | None:
        key = order_ids.decode(link)
        if key is None:
            return None
        life = self.by_link.setdefault(link, Life(link, key.match_key, placed_ts))
        return life

    def resting(self, key: MatchKey, ts: int) -> bool | None:
        """Whether an order of ``key`` could fill at ``ts`` (``None``: no decisions known)."""
        if not self.known:
            return None
        return any(life.placed_ts <= ts <= life.end(self.latency_ms)
                   for life in self.by_key.get(key, ()))

    def placed_since(self, key: MatchKey, ts: int) -> int | None:
        """The placement time of the order of ``key`` resting at ``ts``, if one was."""
        times = [life.placed_ts for life in self.by_key.get(key, ())
                 if life.placed_ts <= ts <= life.end(self.latency_ms)]
        return max(times) if times else None

    def near_request(self, key: MatchKey, ts: int, bound_ms: int) -> bool:
        """Whether an order of ``key`` was placed or cancelled within ``bound_ms`` of ``ts``."""
        for life in self.by_key.get(key, ()):
            for moment in (life.placed_ts, life.cancel_ts):
                if moment is not None and abs(ts - moment) <= bound_ms:
                    return True
        return False


@dataclass(frozen=True)
class Context:
    """What reasons are judged on: the market, gaps, latency and both sides' orders."""

    market: MarketIndex
    gaps: Sequence[CaptureGap]
    latency_ms: int
    start_ms: int
    live: OrderLives
    replay: OrderLives

    def gap_over(self, start_ms: int, end_ms: int) -> CaptureGap | None:
        for gap in self.gaps:
            if gap.start_ms <= end_ms and start_ms <= gap.end_ms:
                return gap
        return None


def explain_unmatched(order: OrderFill, kind: Kind, ctx: Context) -> Explained:
    """The reason a live order (missed) or a replay order (phantom) has no twin."""
    own, other = (ctx.live, ctx.replay) if kind is Kind.MISSED else (ctx.replay, ctx.live)
    bound, key, ts = ctx.latency_ms, order.match_key, order.ts
    gap = ctx.gap_over(ts - bound, ts + bound)
    if gap is not None:
        return Explained(kind, order, None, Reason.DATA_GAP, _gap_text(gap))
    resting = other.resting(key, ts)
    if other.near_request(key, ts, bound) or (resting is not False
                                              and own.near_request(key, ts, bound)):
        return Explained(kind, order, None, Reason.LATENCY,
                         f"filled within the {bound} ms order latency of a placement or cancel")
    if resting is False:
        return Explained(kind, order, None, Reason.DIVERGENCE,
                         "the other side held no order of this key then")
    since = max((t for t in (own.placed_since(key, ts), other.placed_since(key, ts))
                 if t is not None), default=ctx.start_ms)
    side, price = order.key.side, float(order.price)
    if ctx.market.touched(side, price, since, ts + bound) and not ctx.market.traded_through(
            side, price, since, ts + bound):
        return Explained(kind, order, None, Reason.QUEUE,
                         "price touched, never traded through: the queue decided")
    return Explained(kind, order, None, Reason.DIVERGENCE,
                     "traded through while the other side's order rested, without a fill")


def explain_far_off(pair: Pair, ctx: Context, tick_size: Decimal) -> Explained:
    """The reason a pair is beyond the timing or slippage target."""
    bound = ctx.latency_ms
    early, late = sorted((pair.live.ts, pair.sim.ts))
    gap = ctx.gap_over(early - bound, late + bound)
    if gap is not None:
        return Explained(Kind.FAR_OFF, pair.live, pair.sim, Reason.DATA_GAP, _gap_text(gap))
    key = pair.live.match_key
    if abs(pair.drift_ms) <= TIMING_DRIFT_MAX_MS:  # far off by price only
        if ctx.live.near_request(key, pair.live.ts, bound):
            return Explained(Kind.FAR_OFF, pair.live, pair.sim, Reason.LATENCY,
                             "filled on arrival at another price, within the order latency")
        return Explained(Kind.FAR_OFF, pair.live, pair.sim, Reason.DIVERGENCE,
                         f"filled {pair.slippage_ticks(tick_size):g} ticks from its twin")
    if abs(pair.drift_ms) <= bound:
        return Explained(Kind.FAR_OFF, pair.live, pair.sim, Reason.LATENCY,
                         f"{pair.drift_ms} ms apart, within the {bound} ms order latency")
    late_lives = ctx.replay if pair.sim.ts >= pair.live.ts else ctx.live
    late_placed = late_lives.placed_since(key, late)
    if late_placed is not None and late_placed > early:
        reason = Reason.LATENCY if late_placed - early <= bound else Reason.DIVERGENCE
        return Explained(Kind.FAR_OFF, pair.live, pair.sim, reason,
                         f"the later side placed its order {late_placed - early} ms after "
                         "the other side's fill")
    side, price = pair.live.key.side, float(pair.live.price)
    if not ctx.market.traded_through(side, price, early, late - 1):
        return Explained(Kind.FAR_OFF, pair.live, pair.sim, Reason.QUEUE,
                         "price touched, not traded through until the later fill")
    return Explained(Kind.FAR_OFF, pair.live, pair.sim, Reason.DIVERGENCE,
                     "traded through while the later side's order rested")


def _gap_text(gap: CaptureGap) -> str:
    what = f" ({gap.stream}: {gap.reason})" if gap.stream or gap.reason else ""
    return f"overlaps the capture gap {gap.start_ms}..{gap.end_ms}{what}"
