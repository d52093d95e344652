"""Pairing live fills with simulated ones (docs/validation.md, "3. Order identity").

Fills are first aggregated per order (partial fills of one client id become one
:class:`OrderFill`), then orders are paired within their decoded key (strategy,
direction, side, price in ticks) by nearest time: of all live and simulated orders of a
key within :data:`~daemons.validation.targets.MATCH_WINDOW_MS` of each other, the closest
two pair first, then the closest two of the rest, and so on. A missing fill therefore
leaves its partner unpaired instead of pushing every later fill onto the wrong twin (as
pairing the n-th live fill of a level with its n-th simulated fill would): a pair can
change only if one of its orders is closer to the freed partner than to its own twin,
which a grid does not do (one order per level at a time; refills are far apart compared
with the drift between twins).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from daemons.validation.inputs import TRADE, Fill
from daemons.validation.targets import MATCH_WINDOW_MS
from gridcore.order_ids import OrderKey

MatchKey = tuple[str, str, str, int]


@dataclass(frozen=True, slots=True)
class OrderFill:
    """All fills of one order: first fill time, total quantity, volume-weighted price."""

    order_link_id: str
    key: OrderKey
    ts: int
    last_ts: int
    price: Decimal
    qty: Decimal
    fee: Decimal
    fills: int
    idx: int

    @property
    def match_key(self) -> MatchKey:
        return self.key.match_key


@dataclass(frozen=True, slots=True)
class Pair:
    """A live order and its simulated twin."""

    live: OrderFill
    sim: OrderFill

    @property
    def drift_ms(self) -> int:
        """Simulated minus live time of the first fill (positive: the replay filled later)."""
        return self.sim.ts - self.live.ts

    def slippage_ticks(self, tick_size: Decimal) -> float:
        """|live price - simulated price| in ticks."""
        return float(abs(self.live.price - self.sim.price) / tick_size)


@dataclass(frozen=True, slots=True)
class Matching:
    """Pairs, live orders without a twin (missed), simulated ones without (phantom), and
    the fills whose client id gridcore did not make (not part of the comparison)."""

    pairs: tuple[Pair, ...]
    missed: tuple[OrderFill, ...]
    phantom: tuple[OrderFill, ...]
    foreign_live: int = 0
    foreign_sim: int = 0


def aggregate(fills: Iterable[Fill]) -> tuple[list[OrderFill], int]:
    """Trade fills per order, in order of first fill; and how many fills had no gridcore id.

    Funding settlements are not fills of an order and are left out.
    """
    groups: dict[str, list[Fill]] = defaultdict(list)
    keys: dict[str, OrderKey] = {}
    foreign = 0
    for fill in fills:
        if fill.exec_type != TRADE:
            continue
        key = keys.get(fill.order_link_id) or fill.key
        if key is None:
            foreign += 1
            continue
        keys[fill.order_link_id] = key
        groups[fill.order_link_id].append(fill)
    orders = [_order_of(link, keys[link], group) for link, group in groups.items()]
    orders.sort(key=lambda o: (o.ts, o.order_link_id))
    return orders, foreign


def _order_of(link: str, key: OrderKey, fills: list[Fill]) -> OrderFill:
    qty = sum((f.qty for f in fills), Decimal(0))
    value = sum((f.price * f.qty for f in fills), Decimal(0))
    return OrderFill(order_link_id=link, key=key, ts=min(f.ts for f in fills),
                     last_ts=max(f.ts for f in fills), price=value / qty, qty=qty,
                     fee=sum((f.fee for f in fills), Decimal(0)), fills=len(fills),
                     idx=fills[0].idx)


def match(live: Sequence[Fill], sim: Sequence[Fill], *,
          window_ms: int = MATCH_WINDOW_MS) -> Matching:
    """Aggregate both sides per order and pair them (see the module docstring)."""
    live_orders, foreign_live = aggregate(live)
    sim_orders, foreign_sim = aggregate(sim)
    pairs, missed, phantom = pair_orders(live_orders, sim_orders, window_ms=window_ms)
    return Matching(pairs, missed, phantom, foreign_live, foreign_sim)


def pair_orders(live: Sequence[OrderFill], sim: Sequence[OrderFill], *,
                window_ms: int = MATCH_WINDOW_MS,
                ) -> tuple[tuple[Pair, ...], tuple[OrderFill, ...], tuple[OrderFill, ...]]:
    """Nearest-first pairs within each key; unpaired live and simulated orders."""
    by_key_sim = _by_key(sim)
    pairs: list[Pair] = []
    for key, lives in _by_key(live).items():
        pairs += _nearest_first(lives, by_key_sim.get(key, []), window_ms)
    pairs.sort(key=lambda p: (p.live.ts, p.live.order_link_id))
    paired_live = {id(p.live) for p in pairs}
    paired_sim = {id(p.sim) for p in pairs}
    return (tuple(pairs), tuple(o for o in live if id(o) not in paired_live),
            tuple(o for o in sim if id(o) not in paired_sim))


def _by_key(orders: Sequence[OrderFill]) -> dict[MatchKey, list[OrderFill]]:
    grouped: dict[MatchKey, list[OrderFill]] = defaultdict(list)
    for order in sorted(orders, key=lambda o: (o.ts, o.order_link_id)):
        grouped[order.match_key].append(order)
    return grouped


def _nearest_first(lives: list[OrderFill], sims: list[OrderFill], window_ms: int) -> list[Pair]:
    """Every (live, sim) candidate within the window, closest first, each order used once
    (ties: the earlier live order, then the earlier simulated one)."""
    sim_ts = [o.ts for o in sims]
    candidates = []
    for i, order in enumerate(lives):
        lo = bisect.bisect_left(sim_ts, order.ts - window_ms)
        hi = bisect.bisect_right(sim_ts, order.ts + window_ms)
        candidates += [(abs(sim_ts[j] - order.ts), i, j) for j in range(lo, hi)]
    candidates.sort()
    used_live: set[int] = set()
    used_sim: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in used_live and j not in used_sim:
            used_live.add(i)
            used_sim.add(j)
            pairs.append(Pair(lives[i], sims[j]))
    return pairs
