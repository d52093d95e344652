"""Matching on the venue core: queues, trade-through, crossing rules, determinism."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from daemons.marketdata.generator import generate_trades
from daemons.marketdata.trade import Trade
from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.core import VenueCore
from daemons.venue.errors import VenueError
from daemons.venue.order_entry import cancel_order, place_order

ACCOUNT = AccountSpec("alice", "key-alice", "secret-alice", Decimal("100000"))


def make_core(**overrides: object) -> VenueCore:
    """A core with a known queue: 1.000 BTC hidden at every level, no latency."""
    fields = {"depth_median_qty": 1.0, "depth_sigma": 0.0, "depth_growth_per_tick": 0.0,
              "latency_ms_median": 0.0, **overrides}
    core = VenueCore(VenueConfig(accounts=(ACCOUNT,), **fields))
    core.first.prime(Trade(0, "t0", "Sell", 50_000.0, 0.01))
    return core


def buy(core: VenueCore, price: str, qty: str, **extra: object) -> str:
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
            "qty": qty, "price": price, "positionIdx": 1, **extra}
    order = place_order(core, core.accounts["alice"], body, now_ms=1)
    core.engine.advance(1)
    return order.order_id


def tape(core: VenueCore, ts: int, side: str, price: float, size: float) -> None:
    core.first.feed(Trade(ts, f"t{ts}", side, price, size), ts)


def test_resting_buy_behind_known_queue_fills_only_after_that_volume() -> None:
    core = make_core()
    order = core.accounts["alice"].orders[buy(core, "49990.0", "0.500")]
    assert order.ahead == 1000 and order.status == "New"
    tape(core, 10, "Sell", 49990.0, 0.6)
    tape(core, 11, "Sell", 49990.0, 0.4)
    assert order.cum_lots == 0 and order.ahead == 0
    tape(core, 12, "Sell", 49990.0, 0.2)
    assert order.cum_lots == 200 and order.status == "PartiallyFilled"
    tape(core, 13, "Sell", 49990.0, 0.5)
    assert order.status == "Filled" and order.cum_lots == 500
    prints = [(p["S"], p["p"], p["v"]) for p in core.engine.prints]
    assert ("Sell", "49990.00", "0.200") in prints and ("Sell", "49990.00", "0.300") in prints


def test_resting_buy_trade_through_fills_at_once_at_its_price() -> None:
    core = make_core()
    order = core.accounts["alice"].orders[buy(core, "49990.0", "0.500")]
    tape(core, 10, "Sell", 49989.9, 0.001)
    assert order.status == "Filled"
    exe = core.accounts["alice"].executions[-1]
    assert exe.exec_price == Decimal("49990.0") and exe.is_maker
    assert exe.exec_fee == Decimal("4.99900000")  # 0.02 % maker fee on 24995 USDT
    own = [p for p in core.engine.prints if p["i"] == exe.exec_id]
    assert own and own[0]["p"] == "49990.00" and own[0]["v"] == "0.500"


def test_second_order_queues_behind_first_and_one_volume_unit_fills_once() -> None:
    core = make_core()
    first = core.accounts["alice"].orders[buy(core, "49990.0", "0.300")]
    second = core.accounts["alice"].orders[buy(core, "49990.0", "0.300")]
    assert second.ahead == 1300
    tape(core, 10, "Sell", 49990.0, 1.4)
    assert (first.cum_lots, second.cum_lots) == (300, 100)


def test_cancel_moves_later_orders_up_the_queue() -> None:
    core = make_core()
    first_id = buy(core, "49990.0", "0.300")
    second = core.accounts["alice"].orders[buy(core, "49990.0", "0.300")]
    cancel_order(core, core.accounts["alice"], {"category": "linear", "symbol": "BTCUSDT",
                                                "orderId": first_id}, now_ms=2)
    core.engine.advance(2)
    assert second.ahead == 1000


def test_crossing_post_only_is_cancelled_and_gtc_takes_as_configured() -> None:
    core = make_core()
    post = core.accounts["alice"].orders[buy(core, "50001.0", "0.100", timeInForce="PostOnly")]
    assert post.status == "Cancelled" and post.reject_reason == "EC_PostOnlyWillTakeLiquidity"
    taker = core.accounts["alice"].orders[buy(core, "50000.1", "0.100")]
    assert taker.status == "Filled"
    assert not core.accounts["alice"].executions[-1].is_maker
    rejecting = make_core(cross_policy="reject")
    refused = rejecting.accounts["alice"].orders[buy(rejecting, "50000.1", "0.100")]
    assert refused.status == "Cancelled"


def test_reduce_fill_realises_pnl_and_fees_in_wallet() -> None:
    core = make_core()
    buy(core, "50000.1", "1.000")  # taker at the ask
    acct = core.accounts["alice"]
    assert acct.position("BTCUSDT", 1).size_lots == 1000
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit",
            "qty": "1.000", "price": "50100.0", "positionIdx": 1, "reduceOnly": True}
    place_order(core, acct, body, now_ms=5)
    tape(core, 20, "Buy", 50100.1, 0.01)
    assert acct.position("BTCUSDT", 1).size_lots == 0
    open_fee = Decimal("50000.1") * Decimal("0.00055")
    close_fee = Decimal("50100.0") * Decimal("0.0002")
    expected = Decimal("100000") + Decimal("99.9") - open_fee - close_fee
    assert abs(acct.wallet - expected) < Decimal("0.0001")
    assert acct.executions[-1].closed_size == Decimal("1.000")


def test_insufficient_balance_and_reduce_without_position_are_refused() -> None:
    core = make_core()
    with pytest.raises(VenueError) as err:
        buy(core, "49000.0", "30.000")
    assert err.value.code == 110007
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit",
            "qty": "0.001", "price": "51000", "positionIdx": 1}
    with pytest.raises(VenueError) as err:
        place_order(core, core.accounts["alice"], body, now_ms=1)
    assert err.value.code == 110017


def test_funding_boundary_charges_long_position() -> None:
    core = make_core(funding_interval_s=60)
    buy(core, "50000.1", "1.000")
    before = core.accounts["alice"].wallet
    tape(core, 60_000, "Buy", 50000.1, 0.001)
    funding = core.accounts["alice"].executions[-1]
    assert funding.exec_type == "Funding" and funding.exec_fee == Decimal("5.00001000")
    assert core.accounts["alice"].wallet == before - funding.exec_fee


def _run(seed: int) -> list[tuple[str, str, str, bool]]:
    core = make_core(seed=seed, depth_sigma=1.0, depth_growth_per_tick=0.05,
                     latency_ms_median=20.0)
    trades = list(generate_trades(seed=4, start_ms=0, start_price=50_000.0, limit=20_000))
    acct = core.accounts["alice"]
    for n, trade in enumerate(trades):
        if n % 500 == 0:
            for offset, side, idx in ((-3, "Buy", 1), (3, "Sell", 2)):
                price = f"{trade.price + offset:.1f}"
                body = {"category": "linear", "symbol": "BTCUSDT", "side": side,
                        "orderType": "Limit", "qty": "0.050", "price": price,
                        "positionIdx": idx}
                place_order(core, acct, body, now_ms=trade.ts_ms)
        core.first.feed(trade, trade.ts_ms)
    return [(e.order_id, str(e.exec_price), str(e.exec_qty), e.is_maker)
            for e in acct.executions]


def test_same_seed_same_tape_same_orders_gives_same_fills() -> None:
    first, again, other = _run(11), _run(11), _run(12)
    assert len(first) > 20
    assert first == again
    assert first != other


def test_config_rejects_bad_values_with_field_name() -> None:
    with pytest.raises(ValueError, match="speed"):
        replace(VenueConfig(accounts=(ACCOUNT,)), speed=0)
    assert "secret-alice" not in repr(ACCOUNT)
