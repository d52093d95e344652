"""Accounting parity: gridcore's books of a live run against what the exchange reported.

A backtest's PnL is only as good as its money arithmetic. Here the live run's own
executions go through gridcore's books (:mod:`daemons.validation.books`, the arithmetic
the simulated broker uses), starting from the positions the exchange reported at the
start, and every quantity is compared with the exchange's own numbers: each captured
position report (size, entry price, position value at entry, unrealised PnL at the
report's mark, realised PnL since the start as Bybit's ``cumRealisedPnl`` counts it: closed
PnL less fees and funding) and, over the window, fees, funding, closed PnL and (at the
window's last wallet report) the wallet balance's change. Money must agree within
:data:`~daemons.validation.targets.PARITY_TOLERANCE_USDT`; sizes exactly.

Inputs mirror the captured rows: ``private_executions`` (trades and funding) as
:class:`~daemons.validation.inputs.Fill`, ``positions`` as :class:`ExchangePosition`,
``wallets`` (USDT) as :class:`ExchangeWallet`. The wallet check assumes the account
traded nothing else in the window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from daemons.validation.books import IDXS, Books, new_books
from daemons.validation.inputs import FUNDING, TRADE, Fill
from daemons.validation.targets import PARITY_TOLERANCE_USDT

ZERO = Decimal(0)
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class ExchangePosition:
    """One captured position report (a ``positions`` row)."""

    ts: int
    position_idx: int
    size: Decimal
    avg_price: Decimal
    mark_price: Decimal | None = None
    position_value: Decimal | None = None
    unrealised_pnl: Decimal | None = None
    cum_realised_pnl: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ExchangeWallet:
    """One captured USDT wallet report (a ``wallets`` row)."""

    ts: int
    wallet_balance: Decimal


@dataclass(frozen=True)
class ExchangeReports:
    """What the exchange said over the window, and where the account stood at its start.

    ``baseline_positions`` (per position index) and ``baseline_wallet`` are the newest
    reports at or before the start; ``positions`` and ``wallets`` the reports after it, in
    the order captured (exchange time, then Bybit's position ``seq``). Without a baseline
    wallet (none captured, or the wallet is not this symbol's alone) no wallet is judged.
    """

    executions: Sequence[Fill]
    positions: Sequence[ExchangePosition]
    wallets: Sequence[ExchangeWallet]
    baseline_positions: Mapping[int, ExchangePosition]
    baseline_wallet: ExchangeWallet | None
    #: The symbol's tick size when known: the exchange reports entry prices rounded to it,
    #: so half a tick is within parity whatever the position's size.
    tick_size: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ParityLine:
    """One quantity: gridcore's value and the exchange's at the last report, and the worst
    difference over all reports, with the tolerance in force at that report (an entry
    price's depends on the position's size then); ``ok`` judges the worst."""

    quantity: str
    position_idx: int | None
    gridcore: Decimal
    exchange: Decimal
    worst_difference: Decimal
    tolerance: Decimal
    reports: int

    @property
    def difference(self) -> Decimal:
        return self.gridcore - self.exchange

    @property
    def ok(self) -> bool:
        return abs(self.worst_difference) <= self.tolerance


@dataclass(frozen=True)
class Parity:
    """Every line; the books agree with the exchange when every line is ok."""

    lines: list[ParityLine]

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines)

    @property
    def failures(self) -> list[ParityLine]:
        return [line for line in self.lines if not line.ok]


class _Tracker:
    """Collects one quantity's values over the reports."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, int | None], ParityLine] = {}

    def add(self, quantity: str, idx: int | None, gridcore: Decimal, exchange: Decimal,
            tolerance: Decimal) -> None:
        key = (quantity, idx)
        previous = self.lines.get(key)
        diff = gridcore - exchange
        worse = previous is None or (abs(diff) - tolerance >
                                     abs(previous.worst_difference) - previous.tolerance)
        worst, worst_tolerance = (diff, tolerance) if worse else (
            previous.worst_difference, previous.tolerance)
        self.lines[key] = ParityLine(quantity, idx, gridcore, exchange, worst, worst_tolerance,
                                     1 if previous is None else previous.reports + 1)


def check_parity(reports: ExchangeReports, *,
                 tolerance: Decimal = PARITY_TOLERANCE_USDT) -> Parity:
    """Walk executions and reports in exchange order (an execution before a report of the
    same millisecond, as Bybit sends them) and compare at every position and wallet
    report; fees, funding and closed PnL are compared over the whole window."""
    base = reports.baseline_positions
    books = new_books({idx: (p.size, p.avg_price) for idx, p in base.items()})
    tracker = _Tracker()
    timeline: list[tuple[int, int, int, Fill | ExchangePosition | ExchangeWallet]] = [
        (f.ts, 0, n, f) for n, f in enumerate(reports.executions)
        if f.exec_type in (TRADE, FUNDING)]
    timeline += [(p.ts, 1, n, p) for n, p in enumerate(_last_per_ms(
        reports.positions, lambda p: (p.ts, p.position_idx)))]
    # Only the window's last wallet report is judged: a wallet report is stamped when the
    # exchange sends it, an execution when it matched, so one sent while a match was being
    # booked can predate an execution it does not count yet.
    start_wallet = reports.baseline_wallet
    if start_wallet is not None:
        timeline += [(w.ts, 2, n, w) for n, w in enumerate(reports.wallets[-1:])]
    for _, _, _, item in sorted(timeline, key=lambda e: e[:3]):
        if isinstance(item, Fill):
            books.apply(item)
        elif isinstance(item, ExchangePosition):
            _check_position(tracker, books, item, base, tolerance, reports.tick_size)
        elif isinstance(item, ExchangeWallet) and start_wallet is not None:
            mine = sum((books.realised[i] - books.fees[i] - books.funding[i] for i in IDXS),
                       ZERO)
            tracker.add("wallet change", None, mine,
                        item.wallet_balance - start_wallet.wallet_balance, tolerance)
    _check_totals(tracker, books, reports, tolerance)
    return Parity(list(tracker.lines.values()))


def _last_per_ms(reports: Sequence[_R], key: Callable[[_R], object]) -> list[_R]:
    """The last report of each millisecond (and side): the executions of a millisecond all
    come before its reports in replay order, so only the last one shows their sum."""
    last = {key(report): report for report in reports}
    return list(last.values())


def _check_position(tracker: _Tracker, books: Books, report: ExchangePosition,
                    base: Mapping[int, ExchangePosition], tolerance: Decimal,
                    tick_size: Decimal | None) -> None:
    idx = report.position_idx
    book = books.positions[idx]
    tracker.add("size", idx, book.size, report.size, ZERO)
    entry_tolerance = tolerance / book.size if book.size else tolerance
    if tick_size is not None:
        entry_tolerance = max(entry_tolerance, tick_size / 2)
    tracker.add("entry price", idx, book.avg_entry, report.avg_price if report.size else ZERO,
                entry_tolerance)
    if report.position_value is not None:
        tracker.add("position value", idx, book.size * book.avg_entry, report.position_value,
                    tolerance)
    if report.unrealised_pnl is not None and report.mark_price is not None:
        tracker.add("unrealised PnL", idx, book.unrealised_pnl(report.mark_price),
                    report.unrealised_pnl, tolerance)
    start = base.get(idx)
    if report.cum_realised_pnl is not None and start is not None and (
            start.cum_realised_pnl is not None):
        mine = books.realised[idx] - books.fees[idx] - books.funding[idx]
        tracker.add("cumulative realised PnL", idx, mine,
                    report.cum_realised_pnl - start.cum_realised_pnl, tolerance)


def _check_totals(tracker: _Tracker, books: Books, reports: ExchangeReports,
                  tolerance: Decimal) -> None:
    trades = [f for f in reports.executions if f.exec_type == TRADE]
    funding = [f for f in reports.executions if f.exec_type == FUNDING]
    tracker.add("fees", None, books.total("fees"), sum((f.fee for f in trades), ZERO), tolerance)
    tracker.add("funding", None, books.total("funding"), sum((f.fee for f in funding), ZERO),
                tolerance)
    if all(f.closed_pnl is not None for f in trades):
        tracker.add("closed PnL", None, books.total("realised"),
                    sum((f.closed_pnl or ZERO for f in trades), ZERO), tolerance)
