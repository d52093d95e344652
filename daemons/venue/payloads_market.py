"""Bybit-shaped public payloads: ticker, instrument, klines, recent trades.

The ticker's bid and ask sizes are drawn from their own seeded generator so that what
the ticker shows never changes the matching engine's random draws.
"""

from __future__ import annotations

import random
from decimal import Decimal

from daemons.venue.config import VenueConfig
from daemons.venue.instruments import Instrument
from daemons.venue.market import MINUTE_MS, MarketState
from daemons.venue.payloads import num

WS_TICKER_KEYS = (
    "symbol", "tickDirection", "price24hPcnt", "lastPrice", "prevPrice24h", "highPrice24h",
    "lowPrice24h", "prevPrice1h", "markPrice", "indexPrice", "openInterest",
    "openInterestValue", "turnover24h", "volume24h", "fundingIntervalHour", "fundingCap",
    "nextFundingTime", "fundingRate", "bid1Price", "bid1Size", "ask1Price", "ask1Size",
    "preOpenPrice", "preQty", "curPreListingPhase",
)
REST_TICKER_EXTRA = (
    "predictedDeliveryPrice", "basisRate", "deliveryFeeRate", "deliveryTime", "basis",
    "basisRateYear",
)
OPEN_INTEREST_BASE = Decimal("50000")  # BTC; other symbols hold the same notional


class TickerBuilder:
    """Builds one symbol's ticker from its market state, keeping touch sizes stable per
    touch."""

    def __init__(self, config: VenueConfig, market: MarketState) -> None:
        self.config = config
        self.market = market
        self._rng = random.Random(f"ticker-{config.seed}-{market.symbol}")
        self._touch = (0, 0)
        self._sizes = ("0", "0")
        inst = market.inst
        self._median = config.depth_median_qty / inst.price_ratio  # same notional as BTC's
        self._open_interest = (OPEN_INTEREST_BASE / Decimal(repr(inst.price_ratio))).quantize(
            inst.qty_step)

    def _touch_sizes(self) -> tuple[str, str]:
        touch = (self.market.bid_ticks, self.market.ask_ticks)
        if touch != self._touch:
            inst = self.market.inst
            self._sizes = tuple(  # type: ignore[assignment]
                inst.qty_text(max(1, round(self._median * self._rng.lognormvariate(0.0, 0.6)
                                           / float(inst.qty_step))))
                for _ in "ba"
            )
            self._touch = touch
        return self._sizes

    def full(self, now_ms: int) -> dict[str, str]:
        m = self.market
        stats = m.day_stats(now_ms)
        prev24 = m.price_at_or_before(now_ms - 1440 * MINUTE_MS)
        prev1h = m.price_at_or_before(now_ms - 60 * MINUTE_MS)
        change = (Decimal(m.last_ticks - prev24) / prev24) if prev24 else Decimal(0)
        last = m.price_str(m.last_ticks)
        bid_size, ask_size = self._touch_sizes()
        oi = self._open_interest
        return {
            "symbol": m.symbol, "tickDirection": m.tick_direction,
            "price24hPcnt": num(change.quantize(Decimal("0.000001"))), "lastPrice": last,
            "prevPrice24h": m.price_str(prev24), "highPrice24h": m.price_str(stats["high"]),
            "lowPrice24h": m.price_str(stats["low"]), "prevPrice1h": m.price_str(prev1h),
            "markPrice": last, "indexPrice": last, "openInterest": f"{oi:.{m.inst.qty_scale}f}",
            "openInterestValue": f"{oi * m.inst.price(m.last_ticks):.2f}",
            "turnover24h": f"{stats['turnover']:.4f}",
            "volume24h": f"{m.inst.qty(stats['lots']):.4f}",
            "fundingIntervalHour": str(self.config.funding_interval_s // 3600),
            "fundingCap": "0.005", "nextFundingTime": str(m.next_funding_ms),
            "fundingRate": num(m.funding_rate), "bid1Price": m.price_str(m.bid_ticks),
            "bid1Size": bid_size, "ask1Price": m.price_str(m.ask_ticks), "ask1Size": ask_size,
            "preOpenPrice": "", "preQty": "", "curPreListingPhase": "",
            "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "",
            "deliveryTime": "0", "basis": "", "basisRateYear": "",
        }

    def ws(self, now_ms: int) -> dict[str, str]:
        """The ``tickers`` topic's fields."""
        full = self.full(now_ms)
        return {k: full[k] for k in WS_TICKER_KEYS}

    def rest(self, now_ms: int) -> dict[str, str]:
        """``/v5/market/tickers``: no tick direction, plus the delivery and basis fields."""
        full = self.full(now_ms)
        del full["tickDirection"]
        return full


def instrument(inst: Instrument, config: VenueConfig) -> dict[str, object]:
    """The instrument as ``/v5/market/instruments-info`` lists it (USDT perpetual)."""
    return {
        "symbol": inst.symbol, "symbolId": inst.symbol_id, "contractType": "LinearPerpetual",
        "status": "Trading", "baseCoin": inst.base_coin, "quoteCoin": "USDT",
        "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
        "priceScale": str(inst.price_scale),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": f"{inst.tick_size}", "maxPrice": f"{inst.max_price}",
                        "tickSize": f"{inst.tick_size}"},
        "lotSizeFilter": {"maxOrderQty": f"{inst.max_order_qty}",
                          "minOrderQty": f"{inst.qty_step}", "qtyStep": f"{inst.qty_step}",
                          "postOnlyMaxOrderQty": f"{inst.max_order_qty}",
                          "maxMktOrderQty": f"{inst.max_mkt_order_qty}",
                          "minNotionalValue": "5"},
        "unifiedMarginTrade": True, "fundingInterval": config.funding_interval_s // 60,
        "settleCoin": "USDT", "copyTrading": "both", "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375", "isPreListing": False, "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "symbolType": "",
    }


def recent_trade(item: dict) -> dict[str, object]:
    """A public print as ``/v5/market/recent-trade`` lists it."""
    return {"execId": item["i"], "symbol": item["s"], "price": item["p"], "size": item["v"],
            "side": item["S"], "time": str(item["T"]), "isBlockTrade": False,
            "isRPITrade": False, "seq": str(item["seq"])}


def kline_rows(market: MarketState, minutes: int, limit: int,
               start: int | None, end: int | None) -> list[list[str]]:
    """Klines of ``minutes`` built from the one-minute candles, newest first."""
    span = minutes * MINUTE_MS
    groups: dict[int, list] = {}
    for candle in market.candles.values():
        key = candle.start_ms - candle.start_ms % span
        if (start is not None and key < start) or (end is not None and key > end):
            continue
        row = groups.get(key)
        if row is None:
            groups[key] = [key, candle.open, candle.high, candle.low, candle.close,
                           candle.volume_lots, candle.turnover_units]
        else:
            row[2], row[3] = max(row[2], candle.high), min(row[3], candle.low)
            row[4], row[5] = candle.close, row[5] + candle.volume_lots
            row[6] += candle.turnover_units
    rows = sorted(groups.values(), key=lambda r: r[0], reverse=True)[:limit]
    price = market.price_str
    return [[str(r[0]), price(r[1]), price(r[2]), price(r[3]), price(r[4]),
             market.qty_str(r[5]), num(market.turnover(r[6]))] for r in rows]
