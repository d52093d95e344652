"""Order latency on the core, and the short side: liquidation estimate, PnL, funding.

Latency is fixed (sigma 0) so that the times an order reaches the book and a cancel
takes effect are known to the millisecond.
"""

from __future__ import annotations

from decimal import Decimal

from daemons.marketdata.trade import Trade
from daemons.venue.accounts import MAINTENANCE_RATE
from daemons.venue.config import AccountSpec, VenueConfig
from daemons.venue.core import VenueCore
from daemons.venue.order_entry import cancel_order, place_order
from daemons.venue.orders import Order

LATENCY_MS = 50


def make_core(usdt: str = "100000", **overrides: object) -> VenueCore:
    """Known queues (1 BTC hidden per level); bid 50000.0 / ask 50000.1 after priming."""
    fields = {"depth_median_qty": 1.0, "depth_sigma": 0.0, "depth_growth_per_tick": 0.0,
              "latency_ms_median": 0.0, **overrides}
    spec = AccountSpec("alice", "key-alice", "secret-alice", Decimal(usdt))
    core = VenueCore(VenueConfig(accounts=(spec,), **fields))
    core.first.prime(Trade(0, "t0", "Sell", 50_000.0, 0.01))
    return core


def order(core: VenueCore, side: str, idx: int, price: str, qty: str, at_ms: int,
          reduce: bool = False) -> Order:
    body = {"category": "linear", "symbol": "BTCUSDT", "side": side, "orderType": "Limit",
            "qty": qty, "price": price, "positionIdx": idx, "reduceOnly": reduce}
    return place_order(core, core.accounts["alice"], body, now_ms=at_ms)


def tape(core: VenueCore, ts: int, side: str, price: float, size: float = 0.001) -> None:
    core.first.feed(Trade(ts, f"t{ts}", side, price, size), ts)


def on_book(core: VenueCore, placed: Order) -> bool:
    level = core.engine.book.side(placed.is_buy).levels.get(placed.price_ticks)
    return level is not None and placed in level.orders


def test_order_is_created_not_on_book_and_cannot_fill_until_its_latency_passes() -> None:
    core = make_core(latency_ms_median=LATENCY_MS, latency_ms_sigma=0.0)
    placed = order(core, "Buy", 1, "49980.0", "0.100", at_ms=0)
    tape(core, 10, "Sell", 49979.9)  # through its price, but it is still on its way
    assert placed.status == "Created" and placed.cum_lots == 0 and not on_book(core, placed)
    tape(core, 20, "Buy", 50000.1)  # the touch back up: at 50 ms the order does not cross
    core.engine.advance(LATENCY_MS - 1)
    assert placed.status == "Created" and not on_book(core, placed)
    core.engine.advance(LATENCY_MS)
    assert placed.status == "New" and on_book(core, placed)
    tape(core, 60, "Sell", 49979.9)
    assert placed.status == "Filled" and placed.cum_lots == 100


def test_cancel_loses_the_race_against_a_fill_inside_its_latency() -> None:
    core = make_core(latency_ms_median=LATENCY_MS, latency_ms_sigma=0.0)
    placed = order(core, "Buy", 1, "49980.0", "0.100", at_ms=0)
    core.engine.advance(LATENCY_MS)
    assert on_book(core, placed)
    cancel_order(core, core.accounts["alice"], {"category": "linear", "symbol": "BTCUSDT",
                                                "orderId": placed.order_id}, now_ms=100)
    assert placed.cancel_pending and placed.status == "New"  # acknowledged, not yet done
    tape(core, 120, "Sell", 49979.9)  # the fill arrives before the cancel (due at 150)
    core.engine.advance(200)
    assert placed.status == "Filled" and placed.cancel_type != "CancelByUser"
    assert core.accounts["alice"].executions[-1].order_id == placed.order_id


def test_cancel_inside_latency_wins_when_no_print_comes_first() -> None:
    core = make_core(latency_ms_median=LATENCY_MS, latency_ms_sigma=0.0)
    placed = order(core, "Buy", 1, "49980.0", "0.100", at_ms=0)
    core.engine.advance(LATENCY_MS)
    cancel_order(core, core.accounts["alice"], {"category": "linear", "symbol": "BTCUSDT",
                                                "orderId": placed.order_id}, now_ms=100)
    core.engine.advance(150)
    tape(core, 160, "Sell", 49979.9)
    assert placed.status == "Cancelled" and placed.cum_lots == 0


def _hedged(usdt: str = "10000") -> VenueCore:
    """0.5 BTC long (taker at 50000.1) and 0.5 BTC short (taker at 50000.0)."""
    core = make_core(usdt, funding_interval_s=60)
    order(core, "Buy", 1, "50000.1", "0.500", at_ms=1)
    order(core, "Sell", 2, "50000.0", "0.500", at_ms=1)
    core.engine.advance(1)
    return core


def test_both_sides_open_and_liq_prices_follow_the_documented_estimate() -> None:
    core = _hedged()
    acct = core.accounts["alice"]
    long, short = acct.position("BTCUSDT", 1), acct.position("BTCUSDT", 2)
    assert (long.size_lots, short.size_lots) == (500, 500)
    assert (long.avg_price, short.avg_price) == (Decimal("50000.1"), Decimal("50000.0"))
    fees = (Decimal("50000.1") + Decimal("50000.0")) * Decimal("0.5") * Decimal("0.00055")
    assert acct.wallet == Decimal("10000") - fees.quantize(Decimal("0.00000001"))
    maintenance = (Decimal("50000.1") + Decimal("50000.0")) * Decimal("0.5") * MAINTENANCE_RATE
    buffer = (acct.wallet - maintenance) / Decimal("0.5")  # docs: entry ∓ (wallet − MM) / size
    tick = Decimal("0.1")
    assert acct.liq_price(long) == (Decimal("50000.1") - buffer).quantize(tick)
    assert acct.liq_price(short) == (Decimal("50000.0") + buffer).quantize(tick)
    assert acct.liq_price(long) < long.avg_price < acct.liq_price(short)


def test_positive_funding_long_pays_and_short_receives() -> None:
    core = _hedged()
    acct = core.accounts["alice"]
    before = acct.wallet
    realised = [acct.position("BTCUSDT", i).cur_realised for i in (1, 2)]
    tape(core, 60_000, "Buy", 50000.1)  # the first funding boundary of a 60 s interval
    funding = {e.side: e for e in acct.executions if e.exec_type == "Funding"}
    mark = Decimal("50000.0")  # the last print before the boundary: the short's taker sell
    expected = (mark * Decimal("0.5") * Decimal("0.0001")).quantize(Decimal("0.00000001"))
    assert funding["Buy"].exec_fee == expected and funding["Sell"].exec_fee == -expected
    assert acct.position("BTCUSDT", 1).cur_realised == realised[0] - expected
    assert acct.position("BTCUSDT", 2).cur_realised == realised[1] + expected
    assert acct.wallet == before  # equal sizes: what one side pays the other receives


def test_negative_funding_short_pays() -> None:
    core = make_core(funding_interval_s=60, funding_rate=Decimal("-0.0002"))
    order(core, "Sell", 2, "50000.0", "0.500", at_ms=1)
    core.engine.advance(1)
    before = core.accounts["alice"].wallet
    tape(core, 60_000, "Buy", 50000.1)
    assert core.accounts["alice"].wallet == before - Decimal("5.00000000")


def test_short_reduce_realises_profit_when_price_falls() -> None:
    core = make_core()
    acct = core.accounts["alice"]
    order(core, "Sell", 2, "50000.0", "0.500", at_ms=1)
    core.engine.advance(1)
    after_open = acct.wallet
    closing = order(core, "Buy", 2, "49900.0", "0.500", at_ms=2, reduce=True)
    core.engine.advance(2)
    tape(core, 10, "Sell", 49899.9)  # through the closing buy: filled at 49900.0 as maker
    exe = acct.executions[-1]
    assert closing.status == "Filled" and acct.position("BTCUSDT", 2).size_lots == 0
    assert exe.closed_size == Decimal("0.500") and exe.exec_pnl == Decimal("50.00000000")
    assert acct.wallet == after_open + Decimal("50") - Decimal("4.99000000")  # maker fee
    loss = make_core()
    order(loss, "Sell", 2, "50000.0", "0.500", at_ms=1)
    loss.engine.advance(1)
    order(loss, "Buy", 2, "50100.0", "0.500", at_ms=2, reduce=True)  # crosses: taker
    loss.engine.advance(2)
    assert loss.accounts["alice"].executions[-1].exec_pnl < 0
