"""gridcore's own books over one side's fills: positions, realised PnL, fees, funding.

Every side (the live run and each replay) goes through the same
:class:`~gridcore.positions.PositionBook` arithmetic the simulated broker uses, starting
from the positions the run stood in at the seed, so PnL, equity and positions are
comparable across sides, and the live side's books can be proven against what the exchange
reported (:mod:`daemons.validation.parity`).

PnL = realised + unrealised - fees - funding paid (funding received counts positive).
Funding: a side with funding settlements among its fills (the live run) is charged at
each settlement's own mark and rate; a side without (a replay) at the window's funding
rows, as the simulated broker charges them (mark of the row, else the last price).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from daemons.validation.inputs import FUNDING, TRADE, Fill
from daemons.validation.market import MarketIndex
from gridcore.positions import LONG_IDX, SHORT_IDX, ZERO, PositionBook, fee, funding_payment

IDXS = (LONG_IDX, SHORT_IDX)


@dataclass(frozen=True, slots=True)
class BookPoint:
    """The books right after one fill or funding payment (cumulative money)."""

    ts: int
    long_size: Decimal
    long_entry: Decimal
    short_size: Decimal
    short_entry: Decimal
    realised: Decimal
    fees: Decimal
    funding: Decimal


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """What gridcore's books made of one trade fill (for parity with the exchange)."""

    fill: Fill
    fee: Decimal
    realised: Decimal


@dataclass
class Books:
    """One side's books at the end of the window, with the path that led there."""

    positions: dict[int, PositionBook]
    start: dict[int, tuple[Decimal, Decimal]]
    points: list[BookPoint] = field(default_factory=list)
    outcomes: list[FillOutcome] = field(default_factory=list)
    realised: dict[int, Decimal] = field(default_factory=lambda: dict.fromkeys(IDXS, ZERO))
    fees: dict[int, Decimal] = field(default_factory=lambda: dict.fromkeys(IDXS, ZERO))
    funding: dict[int, Decimal] = field(default_factory=lambda: dict.fromkeys(IDXS, ZERO))
    fills: dict[int, int] = field(default_factory=lambda: dict.fromkeys(IDXS, 0))

    def unrealised(self, mark: Decimal | None, idx: int | None = None) -> Decimal:
        """Open PnL at ``mark`` of one side of the hedge, or of both."""
        if mark is None:
            return ZERO
        idxs = IDXS if idx is None else (idx,)
        return sum((self.positions[i].unrealised_pnl(mark) for i in idxs), ZERO)

    def pnl(self, mark: Decimal | None, idx: int | None = None) -> Decimal:
        """Realised + unrealised - fees - funding paid, over the window."""
        idxs = IDXS if idx is None else (idx,)
        money = sum((self.realised[i] - self.fees[i] - self.funding[i] for i in idxs), ZERO)
        return money + self.unrealised(mark, idx)

    def total(self, part: str) -> Decimal:
        """``realised``, ``fees`` or ``funding`` over both sides."""
        return sum(getattr(self, part).values(), ZERO)

    def equity_curve(self, market: MarketIndex, times: np.ndarray) -> np.ndarray:
        """PnL (as floats, for charts) at each of ``times``, valued at the last price then."""
        marks = market.last_prices(times)
        rows = np.vstack([self._start_row(), self._rows()])
        state = rows[np.searchsorted(rows[1:, 0], times, side="right")]
        long_upl = (marks - state[:, 2]) * state[:, 1]
        short_upl = (state[:, 4] - marks) * state[:, 3]
        upl = np.nan_to_num(long_upl) + np.nan_to_num(short_upl)
        return state[:, 5] - state[:, 6] - state[:, 7] + upl

    def apply(self, fill: Fill) -> None:
        """Book one trade fill, or one funding settlement at its own mark and rate.

        A trade's fee is recomputed from its ``fee_rate`` when known (else the fee as
        given), so the live side's fees are gridcore's arithmetic too.
        """
        if fill.exec_type == FUNDING:
            self.charge_funding(fill.ts, fill.idx, fill.fee_rate, fill.price, fill.fee)
            return
        idx = fill.idx
        outcome = self.positions[idx].apply_fill(fill.side, fill.qty, fill.price)
        paid = fee(fill.price, fill.qty, fill.fee_rate) if fill.fee_rate is not None else fill.fee
        self.realised[idx] += outcome.realised_pnl
        self.fees[idx] += paid
        self.fills[idx] += 1
        self.outcomes.append(FillOutcome(fill, paid, outcome.realised_pnl))
        self._point(fill.ts)

    def charge_funding(self, ts: int, idx: int, rate: Decimal | None, mark: Decimal | None,
                       reported: Decimal | None = None) -> None:
        """Charge one side ``mark x size x rate`` from gridcore's own size (or, without a
        rate or mark, the payment as reported)."""
        book = self.positions[idx]
        if book.size == 0:
            return
        if rate is not None and mark is not None:
            paid = funding_payment(mark, book.size, rate, idx)
        elif reported is not None:
            paid = reported
        else:
            return
        self.funding[idx] += paid
        self._point(ts)

    def _point(self, ts: int) -> None:
        long_book, short_book = self.positions[LONG_IDX], self.positions[SHORT_IDX]
        self.points.append(BookPoint(ts, long_book.size, long_book.avg_entry, short_book.size,
                                     short_book.avg_entry, self.total("realised"),
                                     self.total("fees"), self.total("funding")))

    def _rows(self) -> np.ndarray:
        columns = ("ts", "long_size", "long_entry", "short_size", "short_entry", "realised",
                   "fees", "funding")
        data = [[float(getattr(p, c)) for c in columns] for p in self.points]
        return np.asarray(data, dtype=np.float64).reshape(-1, len(columns))

    def _start_row(self) -> np.ndarray:
        (ls, le), (ss, se) = self.start[LONG_IDX], self.start[SHORT_IDX]
        return np.array([-np.inf, ls, le, ss, se, 0, 0, 0], dtype=np.float64)


def new_books(start_positions: Mapping[int, tuple[Decimal, Decimal]] | None = None) -> Books:
    """Empty books standing at ``start_positions`` ((size, entry) per position index)."""
    given = start_positions or {}
    start = {idx: given.get(idx, (ZERO, ZERO)) for idx in IDXS}
    return Books(positions={idx: PositionBook(idx, size=size, avg_entry=entry if size else ZERO)
                            for idx, (size, entry) in start.items()}, start=start)


def build_books(fills: Iterable[Fill], market: MarketIndex | None,
                start_positions: Mapping[int, tuple[Decimal, Decimal]] | None = None) -> Books:
    """Run ``fills`` (any order; sorted here by time, funding first) through new books.

    Without funding settlements among the fills, the ``market``'s funding rows are
    charged (a replay); with ``market`` ``None``, none are.
    """
    books = new_books(start_positions)
    fills = list(fills)
    events: list[tuple[int, int, int, Fill | tuple[Decimal, Decimal | None]]] = [
        (f.ts, 0 if f.exec_type == FUNDING else 1, n, f) for n, f in enumerate(fills)
        if f.exec_type in (TRADE, FUNDING)]
    if market is not None and not any(f.exec_type == FUNDING for f in fills):
        events += [(ts, 0, -1, (rate, mark if mark is not None else market.last_price_before(ts)))
                   for ts, rate, mark in market.funding_rows()]
    for ts, _, _, item in sorted(events, key=lambda e: e[:3]):
        if isinstance(item, Fill):
            books.apply(item)
        else:
            for idx in IDXS:
                books.charge_funding(ts, idx, item[0], item[1])
    return books
