"""Accounting parity: gridcore's books against the local venue's own accounting.

The venue (``daemons.venue.accounts``) is the exchange here: its position, fee, funding
and wallet arithmetic is its own, independent of gridcore. A day of real replay fills goes
through it as an exchange would book them, with funding every 8 hours; what it reports is
what capture would have stored."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from functools import cache

from daemons.validation.inputs import Fill
from daemons.validation.parity import (
    ExchangePosition,
    ExchangeReports,
    ExchangeWallet,
    check_parity,
)
from daemons.venue.accounts import Account
from daemons.venue.config import AccountSpec
from daemons.venue.instruments import INSTRUMENTS
from daemons.venue.orders import Order
from gridcore.intents import is_closing
from tests.daemons.validation.scenario import live_side

FUNDING_MS = 8 * 3_600_000
RATE = Decimal("0.0001")


BTC = INSTRUMENTS["BTCUSDT"]


def _report(account: Account, idx: int, ts: int, mark_ticks: int) -> ExchangePosition:
    pos = account.position("BTCUSDT", idx)
    return ExchangePosition(ts=ts, position_idx=idx, size=pos.qty,
                            avg_price=pos.avg_price, mark_price=BTC.price(mark_ticks),
                            position_value=pos.value, unrealised_pnl=pos.unrealised(mark_ticks),
                            cum_realised_pnl=pos.cum_realised)


@cache
def venue_reports() -> ExchangeReports:
    """The live side's fills as the venue books and reports them."""
    account = Account(AccountSpec("a", "key", "secret", usdt=Decimal(100_000)), uid=1,
                      instruments=(BTC,))
    executions: list[Fill] = []
    positions: list[ExchangePosition] = []
    wallets: list[ExchangeWallet] = []
    fills = live_side().fills
    next_funding = (fills[0].ts // FUNDING_MS + 1) * FUNDING_MS
    mark_ticks = 0
    for n, fill in enumerate(fills):
        while fill.ts >= next_funding:
            for pos in account.sides("BTCUSDT"):
                idx = pos.idx
                if pos.size_lots:
                    size, side = pos.qty, pos.side
                    paid = account.apply_funding(pos, mark_ticks, RATE, next_funding)
                    executions.append(Fill(ts=next_funding, price=BTC.price(mark_ticks),
                                           qty=size, side=side, order_link_id="", fee=paid,
                                           fee_rate=RATE, exec_type="Funding"))
                    positions.append(_report(account, idx, next_funding, mark_ticks))
            wallets.append(ExchangeWallet(next_funding, account.wallet))
            next_funding += FUNDING_MS
        key = fill.key
        mark_ticks = int(fill.price / BTC.tick_size)
        order = Order(order_id=f"o{n}", order_link_id=fill.order_link_id, account="a",
                      inst=BTC, side=fill.side, order_type="Limit",
                      price_ticks=mark_ticks, qty_lots=int(fill.qty / BTC.qty_step),
                      position_idx=fill.idx, time_in_force="GTC",
                      reduce_only=is_closing(key.direction, fill.side), created_ms=fill.ts,
                      seq=n)
        paid, rate, _, pnl = account.apply_fill(order, mark_ticks, order.qty_lots, True, fill.ts)
        executions.append(replace(fill, fee=paid, fee_rate=rate, closed_pnl=pnl, position_idx=0))
        positions.append(_report(account, fill.idx, fill.ts, mark_ticks))
        wallets.append(ExchangeWallet(fill.ts, account.wallet))
    base = {idx: ExchangePosition(0, idx, Decimal(0), Decimal(0), cum_realised_pnl=Decimal(0))
            for idx in (1, 2)}
    return ExchangeReports(executions, positions, wallets, base,
                           ExchangeWallet(0, Decimal(100_000)))


def test_parity_gridcore_books_agree_with_the_venue_within_a_cent() -> None:
    reports = venue_reports()
    parity = check_parity(reports)
    assert parity.ok, parity.failures
    quantities = {line.quantity for line in parity.lines}
    assert quantities == {"size", "entry price", "position value", "unrealised PnL",
                          "cumulative realised PnL", "fees", "funding", "closed PnL",
                          "wallet change"}
    funding = next(line for line in parity.lines if line.quantity == "funding")
    assert funding.exchange != 0 and any(f.exec_type == "Funding" for f in reports.executions)
    sizes = [line for line in parity.lines if line.quantity == "size"]
    assert sum(line.reports for line in sizes) == len(
        {(p.ts, p.position_idx) for p in reports.positions}) > 600


def test_parity_wrong_reported_fee_fails_on_fees_only() -> None:
    reports = venue_reports()
    executions = list(reports.executions)
    k = next(n for n, f in enumerate(executions) if f.exec_type == "Trade")
    executions[k] = replace(executions[k], fee=executions[k].fee + Decimal("0.02"))
    parity = check_parity(replace(reports, executions=executions))
    assert {line.quantity for line in parity.failures} == {"fees"}


def test_parity_missing_execution_fails_on_size_and_money() -> None:
    reports = venue_reports()
    executions = [f for n, f in enumerate(reports.executions) if n != 10]
    parity = check_parity(replace(reports, executions=executions))
    failed = {line.quantity for line in parity.failures}
    assert "size" in failed and "wallet change" in failed


def test_parity_wrong_funding_rate_fails_on_funding() -> None:
    reports = venue_reports()
    executions = [replace(f, fee=f.fee * 2) if f.exec_type == "Funding" else f
                  for f in reports.executions]
    parity = check_parity(replace(reports, executions=executions))
    assert "funding" in {line.quantity for line in parity.failures}
