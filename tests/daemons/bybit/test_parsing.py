"""The normaliser on every official Bybit sample, and on malformed variants of each."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemons.bybit import fields, parsing
from daemons.bybit.parsing import ParseError, TickerMerger
from gridcore.events import (
    ExecutionEvent,
    OrderUpdateEvent,
    PositionEvent,
    PublicTradeEvent,
    TickerEvent,
    WalletEvent,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "bybit_samples"
LOCAL = 1_760_500_000_000  # after every sample (October 2025): times must not be future


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def _ticker(item: dict[str, Any]) -> TickerEvent:
    return TickerMerger().apply({"type": "snapshot", "data": item, "ts": LOCAL - 1, "cs": 2},
                                LOCAL).event


@dataclass(frozen=True)
class Case:
    """One kind of message: where its items are, how to parse one, what must be checked."""

    sample: str
    items: Callable[[dict[str, Any]], list[dict[str, Any]]]
    parse: Callable[[dict[str, Any]], Any]
    required: tuple[str, ...]
    positive: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.sample


def _data(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return msg["data"] if isinstance(msg["data"], list) else [msg["data"]]


def _rest(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return parsing.result_list(msg, "rest")


CASES = [
    Case("ws_public_trade", _data, lambda i: parsing.public_trade(i, LOCAL),
         ("T", "s", "S", "v", "p", "i"), positive=("p", "v"), sizes=("v",)),
    Case("rest_recent_trade", _rest, lambda i: parsing.recent_trade(i, LOCAL),
         ("execId", "symbol", "price", "size", "side", "time"), positive=("price", "size"),
         sizes=("size",)),
    Case("ws_ticker_linear", _data, _ticker, ("symbol", "lastPrice"), positive=("lastPrice",)),
    Case("ws_ticker_linear_futures", _data, _ticker, ("symbol", "lastPrice"),
         positive=("lastPrice",)),
    Case("ws_order", _data, lambda i: parsing.order(i, LOCAL),
         ("symbol", "orderId", "side", "orderType", "qty", "orderStatus", "updatedTime"),
         positive=("qty",), sizes=("qty", "cumExecQty")),
    Case("rest_open_orders", _rest, lambda i: parsing.order(i, LOCAL),
         ("symbol", "orderId", "side", "orderType", "qty", "orderStatus", "updatedTime"),
         positive=("price", "qty"), sizes=("qty", "leavesQty")),
    Case("ws_execution", _data, lambda i: parsing.execution(i, LOCAL),
         ("symbol", "execId", "orderId", "side", "execPrice", "execQty", "execTime",
          "execType"), positive=("execPrice", "execQty"), sizes=("execQty", "closedSize")),
    Case("rest_execution_list", _rest, lambda i: parsing.execution(i, LOCAL),
         ("symbol", "execId", "orderId", "side", "execPrice", "execQty", "execTime",
          "execType"), positive=("execPrice", "execQty"), sizes=("execQty", "leavesQty")),
    Case("ws_position", _data, lambda i: parsing.position(i, LOCAL, LOCAL - 5),
         ("symbol", "positionIdx", "size"), sizes=("size",)),
    Case("rest_position_list", _rest, lambda i: parsing.position(i, LOCAL, LOCAL - 5),
         ("symbol", "positionIdx", "size"), sizes=("size",)),
    Case("ws_wallet", _data, lambda i: parsing.wallet(i, LOCAL - 7, LOCAL), ("coin",)),
    Case("rest_wallet_balance", _rest, lambda i: parsing.wallet(i, LOCAL - 7, LOCAL), ("coin",)),
]
EXPECTED = {
    "ws_public_trade": PublicTradeEvent, "rest_recent_trade": PublicTradeEvent,
    "ws_ticker_linear": TickerEvent, "ws_ticker_linear_futures": TickerEvent,
    "ws_order": OrderUpdateEvent, "rest_open_orders": OrderUpdateEvent,
    "ws_execution": ExecutionEvent, "rest_execution_list": ExecutionEvent,
    "ws_position": PositionEvent, "rest_position_list": PositionEvent,
    "ws_wallet": WalletEvent, "rest_wallet_balance": WalletEvent,
}


def _variants(case: Case, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(field, malformed item) pairs of one kind of damage, for the sample's first item."""
    item = case.items(sample(case.sample))[0]
    out = []
    fields = {"missing": case.required, "wrong_type": case.required,
              "malformed_number": case.positive + case.sizes, "negative_size": case.sizes,
              "zero_price": tuple(f for f in case.positive if f not in case.sizes)}[kind]
    for name in fields:
        broken = copy.deepcopy(item)
        if kind == "missing":
            del broken[name]
        elif kind == "wrong_type":
            broken[name] = [broken[name]] if name != "coin" else {"coin": "x"}
        elif kind == "malformed_number":
            broken[name] = "12.3.4"
        elif kind == "negative_size":
            broken[name] = "-1"
        else:
            broken[name] = "0"
        out.append((name, broken))
    return out


@pytest.mark.parametrize("case", CASES, ids=str)
def test_normaliser_official_sample_gives_event(case: Case) -> None:
    items = case.items(sample(case.sample))
    events = [case.parse(item) for item in items]
    assert events and all(isinstance(e, EXPECTED[case.sample]) for e in events)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_normaliser_unknown_extra_fields_are_ignored(case: Case) -> None:
    item = case.items(sample(case.sample))[0]
    assert case.parse({**item, "brandNewField": {"x": [1]}}) == case.parse(item)


@pytest.mark.parametrize("kind", ["missing", "wrong_type", "malformed_number", "negative_size",
                                  "zero_price"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_normaliser_malformed_variant_raises_parse_error_naming_field(case: Case,
                                                                      kind: str) -> None:
    for name, broken in _variants(case, kind):
        with pytest.raises(ParseError) as caught:
            case.parse(broken)
        assert caught.value.field.endswith(f".{name}"), (name, str(caught.value))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_normaliser_item_that_is_not_an_object_raises_parse_error(case: Case) -> None:
    for junk in ("text", 5, None, ["a"]):
        with pytest.raises(ParseError):
            case.parse(junk)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "{", "nan", "[1, 2]", '"str"', b"\xff\xfe", "{'a': 1}"])
def test_decode_garbage_json_raises_parse_error(text: str | bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parsing.decode(text)
    assert caught.value.field == "json"


@pytest.mark.parametrize("name", sorted(p.stem for p in SAMPLES.glob("*.json")))
def test_decode_every_official_sample_gives_object(name: str) -> None:
    assert isinstance(parsing.decode((SAMPLES / f"{name}.json").read_text()), dict)


def test_public_trade_sample_values_are_exact_decimals() -> None:
    (event,) = [parsing.public_trade(i, LOCAL) for i in sample("ws_public_trade")["data"]]
    assert event.price == Decimal("16578.50") and event.size == Decimal("0.001")
    assert event.exchange_ts == 1672304486865 and event.seq == 1783284617
    assert event.trade_id == "20f43950-d8dd-5b31-9112-a178eb6023af" and event.side == "Buy"


def test_public_trade_float_price_is_refused() -> None:
    item = {**sample("ws_public_trade")["data"][0], "p": 16578.5}
    with pytest.raises(ParseError, match="expected a decimal string"):
        parsing.public_trade(item, LOCAL)


def test_ticker_delta_keeps_fields_it_does_not_carry() -> None:
    merger = TickerMerger()
    snapshot = sample("ws_ticker_linear")
    first = merger.apply(snapshot, LOCAL).event
    delta = {"topic": snapshot["topic"], "type": "delta", "cs": snapshot["cs"] + 1,
             "ts": snapshot["ts"] + 100, "data": {"symbol": "BTCUSDT", "lastPrice": "66670.1"}}
    second = merger.apply(delta, LOCAL).event
    assert second.last_price == Decimal("66670.1") and second.seq == snapshot["cs"] + 1
    assert second.mark_price == first.mark_price == Decimal("66666.60")
    assert second.next_funding_time == 1760342400000
    assert parsing.ticker_extras(merger.state)["bid1_size"] == Decimal("23789.165")


def test_ticker_delta_before_snapshot_raises_parse_error() -> None:
    with pytest.raises(ParseError, match="delta before any snapshot"):
        TickerMerger().apply({"type": "delta", "data": {"lastPrice": "1"}, "ts": LOCAL}, LOCAL)


def test_ticker_invalid_delta_leaves_merged_state_unchanged() -> None:
    merger = TickerMerger()
    merger.apply(sample("ws_ticker_linear"), LOCAL)
    before = dict(merger.state or {})
    with pytest.raises(ParseError):
        merger.apply({"type": "delta", "ts": LOCAL, "data": {"lastPrice": "-1"}}, LOCAL)
    assert merger.state == before


def test_market_order_with_zero_price_is_an_event_limit_order_is_not() -> None:
    item = {**sample("rest_open_orders")["result"]["list"][0], "price": "0"}
    with pytest.raises(ParseError, match="price"):
        parsing.order(item, LOCAL)
    assert parsing.order({**item, "orderType": "Market"}, LOCAL).price == 0


def test_funding_history_row_gives_funding_event() -> None:
    row = {"symbol": "BTCUSDT", "fundingRate": "-0.000131", "fundingRateTimestamp": "1700006400000"}
    event = parsing.funding(row, LOCAL)
    assert event.funding_rate == Decimal("-0.000131") and event.exchange_ts == 1700006400000
    for key in row:
        with pytest.raises(ParseError, match=key):
            parsing.funding({k: v for k, v in row.items() if k != key}, LOCAL)


def test_position_without_updated_time_uses_message_time() -> None:
    item = {**sample("ws_position")["data"][0], "updatedTime": ""}
    assert parsing.position(item, LOCAL, LOCAL - 99).exchange_ts == LOCAL - 99


def test_private_envelope_without_data_list_raises_parse_error() -> None:
    with pytest.raises(ParseError, match="data"):
        parsing.data_list({"topic": "order", "data": {"a": 1}}, "order")
    with pytest.raises(ParseError, match="creationTime"):
        parsing.creation_time({"topic": "order", "data": []}, "order", LOCAL)


@pytest.mark.parametrize(("raw", "expected"), [("", ""), ("UNKNOWN", ""), (None, ""),
                                               ("StopLoss", "StopLoss"),
                                               ("TakeProfit", "TakeProfit")])
def test_order_stop_order_type_is_carried_and_plain_orders_read_empty(raw, expected) -> None:
    """Bybit marks a plain order with "", "UNKNOWN" (the REST sample) or nothing."""
    item = {**sample("rest_open_orders")["result"]["list"][0], "stopOrderType": raw}
    if raw is None:
        del item["stopOrderType"]
    assert parsing.order(item, LOCAL).stop_order_type == expected


def test_order_official_samples_keep_their_order_type() -> None:
    """The REST sample is a resting limit order; the WebSocket one a filled market order."""
    (rest,) = [parsing.order(i, LOCAL) for i in sample("rest_open_orders")["result"]["list"]]
    (ws,) = [parsing.order(i, LOCAL) for i in sample("ws_order")["data"]]
    assert rest.is_plain_limit and rest.is_open
    assert ws.order_type == "Market" and not ws.is_plain_limit


def test_order_conditional_stop_loss_is_not_a_plain_limit_order() -> None:
    """A user's market stop-loss waiting for its trigger: the engine must leave it alone."""
    item = {**sample("rest_open_orders")["result"]["list"][0], "orderType": "Market",
            "price": "0", "stopOrderType": "StopLoss", "orderStatus": "Untriggered"}
    event = parsing.order(item, LOCAL)
    assert (event.order_type, event.stop_order_type, event.is_open) == (
        "Market", "StopLoss", True)
    assert not event.is_plain_limit


def test_order_stop_order_type_of_wrong_type_raises_parse_error() -> None:
    item = {**sample("rest_open_orders")["result"]["list"][0], "stopOrderType": 3}
    with pytest.raises(ParseError, match="order.stopOrderType"):
        parsing.order(item, LOCAL)


# -- what can be stored: times, numbers, text, depth, categories ---------------------------

DAY = 86_400_000


@pytest.mark.parametrize(("value", "accepted"), [
    (fields.MIN_TIME_MS, True), (fields.MIN_TIME_MS - 1, False), (LOCAL + DAY, True),
    (LOCAL + DAY + 1, False), (str(LOCAL), True), (LOCAL // 1000, False),
    (LOCAL * 1000, False), (str(LOCAL * 1_000_000), False), (-LOCAL, False), (0, False)])
def test_time_outside_2015_to_receipt_plus_one_day_raises_parse_error(value, accepted) -> None:
    item = {**sample("ws_public_trade")["data"][0], "T": value}
    if accepted:
        assert parsing.public_trade(item, LOCAL).exchange_ts == int(value)
    else:
        with pytest.raises(ParseError, match="publicTrade.T"):
            parsing.public_trade(item, LOCAL)


@pytest.mark.parametrize("text", ["١٢٣", "²", "1e3", "NaN", " 12", "1_000", "9" * 41,
                                  "1" + "0" * 12, "-" + "9" * 13])
def test_decimal_unicode_exponent_or_too_wide_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="publicTrade.p"):
        parsing.public_trade({**sample("ws_public_trade")["data"][0], "p": text}, LOCAL)


@pytest.mark.parametrize("text", ["١٢٣", "²", "9" * 19, "9" * 5000])
def test_integer_unicode_or_past_64_bits_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="publicTrade.seq"):
        parsing.public_trade({**sample("ws_public_trade")["data"][0], "seq": text}, LOCAL)


def test_decode_nested_deeper_than_the_limit_raises_parse_error_not_recursion_error() -> None:
    for depth in (fields.MAX_DEPTH + 1, 100_000):
        with pytest.raises(ParseError, match="nested deeper"):
            parsing.decode('{"data": ' + "[" * depth + "]" * depth + "}")


def test_decode_integer_past_int_digit_limit_costs_only_its_item() -> None:
    message = sample("ws_public_trade")
    good = message["data"][0]
    text = json.dumps({**message, "data": [good, {**good, "seq": "BIG"}]})
    decoded = parsing.decode(text.replace('"BIG"', "9" * 5000))
    assert parsing.public_trade(decoded["data"][0], LOCAL).trade_id == good["i"]
    with pytest.raises(ParseError, match="publicTrade.seq: a number too long"):
        parsing.public_trade(decoded["data"][1], LOCAL)


@pytest.mark.parametrize("value", ["a\x00b", "a\ud800b", math.nan, math.inf])
def test_private_item_holding_what_jsonb_refuses_raises_parse_error(value: Any) -> None:
    item = {**sample("ws_execution")["data"][0], "brandNewField": {"x": [value]}}
    with pytest.raises(ParseError, match="^execution: holds"):
        parsing.execution(item, LOCAL)


def test_ticker_bad_delta_leaves_state_and_next_delta_merges_into_last_good() -> None:
    merger = TickerMerger("BTCUSDT")
    snapshot = sample("ws_ticker_linear")
    merger.apply(snapshot, LOCAL)
    delta = {"type": "delta", "ts": snapshot["ts"] + 1, "cs": 1, "data": {"bid1Size": "1e9"}}
    with pytest.raises(ParseError, match="tickers.data.bid1Size"):
        merger.apply(delta, LOCAL)
    good = merger.apply({**delta, "data": {"lastPrice": "1.5"}}, LOCAL)
    assert good.event.last_price == Decimal("1.5")
    assert good.extras["bid1_size"] == Decimal(snapshot["data"]["bid1Size"])


def test_ticker_of_another_symbol_than_its_topic_raises_parse_error() -> None:
    with pytest.raises(ParseError, match="another symbol"):
        TickerMerger("ETHUSDT").apply(sample("ws_ticker_linear"), LOCAL)


@pytest.mark.parametrize("updated", ["0", 0, "", None])
def test_position_updated_time_zero_or_empty_takes_the_message_time(updated: Any) -> None:
    item = {**sample("rest_position_list")["result"]["list"][0], "updatedTime": updated}
    assert parsing.position(item, LOCAL, LOCAL - 3).exchange_ts == LOCAL - 3


@pytest.mark.parametrize(("item", "default", "expected"), [
    ({"category": "linear"}, None, None), ({"category": "spot"}, None, "spot"),
    ({"category": "option"}, "linear", "option"), ({}, "linear", None), ({}, "inverse",
                                                                          "inverse")])
def test_other_category_names_another_market(item, default, expected) -> None:
    assert parsing.other_category(item, default, "order") == expected


@pytest.mark.parametrize("item", [{}, {"category": ""}, {"category": 3}])
def test_websocket_item_without_category_raises_parse_error(item) -> None:
    with pytest.raises(ParseError, match="order.category"):
        parsing.other_category(item, None, "order")
