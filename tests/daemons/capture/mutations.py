"""The mutation table: every official Bybit sample, each field damaged every way that matters.

A :class:`Case` is one message (or REST page) built from an official sample in
``tests/fixtures/bybit_samples/``: three copies of its item, ``a``, ``m`` and ``b``, each
with its own key, and one mutation applied to ``m`` (or to the message around them). The
table says what must come of it: ``m`` kept, quarantined or dropped as another market's,
or the whole message quarantined, and always ``a`` and ``b`` kept exactly.

What each kind of field accepts is written out here, independently of the normaliser,
from Bybit's documented types and the project's rules (docs/capture.md).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "bybit_samples"
DAY_MS = 86_400_000
MISSING = object()
#: Replaced in the frame's text by a 5,000-digit JSON integer (json.dumps cannot write it).
BIGINT = "__BIGINT_LITERAL__"
BIGINT_DIGITS = "9" * 5000
KEEP, QUARANTINE, OTHER = "kept", "quarantined", "other category"

Path_ = tuple[Any, ...]


def load(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def arabic(text: str) -> str:
    """The same digits in Arabic-Indic script: ``str.isdigit`` and ``int()`` take them."""
    return text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


# -- what each kind of field takes ---------------------------------------------------------

def _common(value: Any) -> list[tuple[str, Any]]:
    return [("missing", MISSING), ("null", None), ("list", [value]), ("object", {"v": value}),
            ("bool", True)]


def _time(value: Any, now: int) -> list[tuple[str, Any]]:
    t = int(value) if value not in ("", None) else now - 1000
    return _common(value) + [
        ("as_number", t), ("as_string", str(t)), ("float", float(t)), ("empty", ""),
        ("digits_5000", BIGINT_DIGITS), ("json_int_5000", BIGINT), ("unicode_digits",
                                                                      arabic(str(t))),
        ("negative", -t), ("zero", 0), ("zero_string", "0"), ("before_2015", 1_400_000_000_000),
        ("seconds", t // 1000), ("microseconds", t * 1000), ("nanoseconds", t * 1_000_000),
        ("far_future", now + 3650 * DAY_MS), ("two_days_ahead", now + 2 * DAY_MS),
        ("int64_overflow", 2 ** 64), ("nan", math.nan), ("infinity", math.inf),
        ("exponent", "1.7e12")]


def _decimal(value: Any, now: int) -> list[tuple[str, Any]]:
    return _common(value) + [
        ("float", 7.5), ("as_number", 7), ("empty", ""), ("digits_5000", BIGINT_DIGITS),
        ("json_int_5000", BIGINT), ("huge", "1" + "0" * 30), ("nan_string", "NaN"),
        ("infinity_string", "Infinity"), ("nan", math.nan), ("infinity", math.inf),
        ("negative", "-1.5"), ("zero", "0"), ("exponent", "1e2"), ("unicode_digits", "١٢٫٥"),
        ("arabic_integer", "١٢"), ("malformed", "12.3.4"), ("spaces", " 12 "),
        ("underscore", "1_000")]


def _text(value: Any, now: int) -> list[tuple[str, Any]]:
    base = value if isinstance(value, str) else "x"
    return _common(value) + [
        ("number", 123), ("empty", ""), ("long", base + "x" * 5000), ("nul", base + "\x00"),
        ("lone_surrogate", base + "\ud800"), ("unicode", base + "Ü€"), ("nan", math.nan)]


def _side(value: Any, now: int) -> list[tuple[str, Any]]:
    return _common(value) + [("lowercase", str(value).lower()), ("number", 1), ("empty", ""),
                             ("other", "Sideways")]


def _flag(value: Any, now: int) -> list[tuple[str, Any]]:
    return _common(value) + [("string", "true"), ("number", 1)]


def _integer(value: Any, now: int) -> list[tuple[str, Any]]:
    return _common(value) + [
        ("as_string", "123"), ("as_number", 123), ("float", 1.5), ("negative", -5),
        ("int64_overflow", 2 ** 64), ("digits_5000", BIGINT_DIGITS),
        ("json_int_5000", BIGINT), ("unicode_digits", arabic("123")), ("text", "abc"),
        ("empty", "")]


def _index(value: Any, now: int) -> list[tuple[str, Any]]:
    return _common(value) + [("three", 3), ("negative", -1), ("as_string", "1"),
                             ("float", 1.0), ("text", "x"), ("empty", "")]


def _category(value: Any, now: int) -> list[tuple[str, Any]]:
    return _common(value) + [("spot", "spot"), ("option", "option"), ("inverse", "inverse"),
                             ("number", 1), ("empty", ""), ("linear", "linear")]


def _coins(value: Any, now: int) -> list[tuple[str, Any]]:
    return _common(value) + [("empty_list", []), ("not_objects", ["x"]),
                             ("twice", value + copy.deepcopy(value))]


@dataclass(frozen=True)
class Kind:
    """A kind of field: its mutations and which of them the capture keeps."""

    name: str
    mutations: Any
    kept: frozenset[str]
    other: frozenset[str] = frozenset()


_OPTIONAL = frozenset({"missing", "null", "empty"})
_TIME_OK = frozenset({"as_number", "as_string"})
KINDS = {k.name: k for k in (
    Kind("time", _time, _TIME_OK),
    Kind("time?", _time, _TIME_OK | _OPTIONAL | {"zero", "zero_string"}),
    Kind("dec>0", _decimal, frozenset({"as_number"})),
    Kind("dec>=0", _decimal, frozenset({"as_number", "zero"})),
    Kind("dec", _decimal, frozenset({"as_number", "zero", "negative"})),
    Kind("dec>=0?", _decimal, frozenset({"as_number", "zero"}) | _OPTIONAL),
    Kind("dec?", _decimal, frozenset({"as_number", "zero", "negative"}) | _OPTIONAL),
    Kind("text", _text, frozenset({"unicode"})),
    Kind("symbol", _text, frozenset()),  # a ticker's must be its topic's
    Kind("text*", _text, frozenset({"unicode", "empty"})),  # required, may be empty
    Kind("text?", _text, frozenset({"unicode"}) | _OPTIONAL),
    Kind("side", _side, frozenset()),
    Kind("bool?", _flag, frozenset({"missing", "null", "bool"})),
    Kind("int?", _integer, frozenset({"as_string", "as_number", "negative"}) | _OPTIONAL),
    Kind("index", _index, frozenset({"as_string"})),
    Kind("index?", _index, frozenset({"as_string"}) | _OPTIONAL),
    Kind("lenient", _flag, frozenset({"missing", "null", "bool", "list", "object", "string",
                                      "number"})),
    Kind("category", _category, frozenset({"linear"}),
         other=frozenset({"spot", "option", "inverse"})),
    Kind("category?", _category, frozenset({"linear"}) | _OPTIONAL,
         other=frozenset({"spot", "option", "inverse"})),
    Kind("coins", _coins, frozenset({"empty_list"})),
)}
#: Values no private item may hold anywhere (its raw_json is jsonb): the whole item is
#: refused before any field is read, so the error names the item, not the field.
UNSTORABLE = frozenset({"nul", "lone_surrogate", "nan", "infinity", "json_int_5000"})


# -- samples ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """An official sample: how to route it and what its fields are."""

    name: str
    route: str  # ws_public, ws_ticker, ws_private, rest_trades, rest_funding, rest_private
    topic: str  # the private topic, or "publicTrade" / "tickers" / "recentTrade" / "funding"
    where: str  # the normaliser's name for an item (ParseError fields start with it)
    key: Path_
    fields: dict[Path_, str]
    linear: dict[Path_, Any] = field(default_factory=dict)  # relabelled for the table
    envelope: dict[Path_, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # when there is no official sample

    @property
    def ws(self) -> bool:
        return self.route.startswith("ws_")

    @property
    def private(self) -> bool:
        return self.route.endswith("private")

    def message(self) -> dict[str, Any]:
        return copy.deepcopy(self.body) if self.body is not None else load(self.name)

    def items(self, message: dict[str, Any]) -> list[Any]:
        if self.route == "ws_ticker":
            return [message["data"]]
        return message["data"] if self.ws else message["result"]["list"]

    def m(self, message: dict[str, Any]) -> Any:
        """The item the mutations damage (a ticker message has only that one)."""
        return self.items(message)[0 if self.route == "ws_ticker" else 1]


def _trade_fields(time: str, symbol: str, side: str, price: str, size: str, trade_id: str,
                  block: str) -> dict[Path_, str]:
    return {(time,): "time", (symbol,): "text", (side,): "side", (price,): "dec>0",
            (size,): "dec>0", (trade_id,): "text", ("seq",): "int?", (block,): "lenient"}


def _order_fields(price_kind: str, category_kind: str) -> dict[Path_, str]:
    return {("symbol",): "text", ("orderId",): "text", ("side",): "side",
            ("orderType",): "text", ("price",): price_kind, ("qty",): "dec>0",
            ("orderStatus",): "text", ("updatedTime",): "time", ("createdTime",): "time?",
            ("orderLinkId",): "text?", ("reduceOnly",): "bool?", ("positionIdx",): "index?",
            ("cumExecQty",): "dec>=0?", ("leavesQty",): "dec>=0?", ("cumExecValue",): "dec?",
            ("cumExecFee",): "dec?", ("timeInForce",): "text?", ("stopOrderType",): "text?",
            ("rejectReason",): "text?", ("category",): category_kind}


def _execution_fields(category_kind: str) -> dict[Path_, str]:
    return {("symbol",): "text", ("execId",): "text", ("orderId",): "text*",
            ("side",): "side", ("execPrice",): "dec>0", ("execQty",): "dec>0",
            ("execTime",): "time", ("execType",): "text", ("execFee",): "dec?",
            ("feeRate",): "dec?", ("leavesQty",): "dec>=0?", ("closedSize",): "dec>=0?",
            ("isMaker",): "bool?", ("seq",): "int?", ("orderLinkId",): "text?",
            ("execPnl",): "dec?", ("category",): category_kind}


def _position_fields(entry: str, category_kind: str) -> dict[Path_, str]:
    return {("symbol",): "text", ("positionIdx",): "index", ("size",): "dec>=0",
            (entry,): "dec>=0?", ("leverage",): "dec>=0?", ("liqPrice",): "dec>=0?",
            ("markPrice",): "dec>=0?", ("positionValue",): "dec>=0?",
            ("unrealisedPnl",): "dec?", ("cumRealisedPnl",): "dec?", ("updatedTime",): "time?",
            ("seq",): "int?", ("side",): "lenient", ("positionStatus",): "text?",
            ("category",): category_kind}


_WALLET = {("coin",): "coins", ("coin", 0, "coin"): "text",
           ("coin", 0, "walletBalance"): "dec", ("coin", 0, "usdValue"): "dec?",
           ("coin", 0, "equity"): "dec?", ("coin", 0, "availableToWithdraw"): "dec?",
           ("coin", 0, "unrealisedPnl"): "dec?", ("coin", 0, "cumRealisedPnl"): "dec?",
           ("totalInitialMargin",): "dec?", ("totalMaintenanceMargin",): "dec?",
           ("accountType",): "text?"}
_TICKER = {("symbol",): "symbol", ("lastPrice",): "dec>0", ("markPrice",): "dec>=0?",
           ("indexPrice",): "dec>=0?", ("bid1Price",): "dec>=0?", ("ask1Price",): "dec>=0?",
           ("bid1Size",): "dec>=0?", ("ask1Size",): "dec>=0?", ("openInterest",): "dec>=0?",
           ("volume24h",): "dec>=0?", ("turnover24h",): "dec>=0?", ("fundingRate",): "dec?",
           ("nextFundingTime",): "time?"}
_REST_ENVELOPE = {("time",): "time?", ("result", "nextPageCursor"): "text?"}
_PRIVATE_ENVELOPE = {("creationTime",): "time"}
_LINEAR_PAGE = {("result", "category"): "linear"}
FUNDING_BODY = {"retCode": 0, "retMsg": "OK", "time": 1700006460000, "result": {
    "category": "linear", "list": [{"symbol": "BTCUSDT", "fundingRate": "-0.000131",
                                    "fundingRateTimestamp": "1700006400000"}]}}

ALL = (
    Sample("ws_public_trade", "ws_public", "publicTrade", "publicTrade", ("i",),
           _trade_fields("T", "s", "S", "p", "v", "i", "BT")),
    Sample("rest_recent_trade", "rest_trades", "recentTrade", "recentTrade", ("execId",),
           _trade_fields("time", "symbol", "side", "price", "size", "execId", "isBlockTrade"),
           linear=_LINEAR_PAGE, envelope=_REST_ENVELOPE),
    Sample("ws_ticker_linear", "ws_ticker", "tickers", "tickers.data", ("symbol",), _TICKER,
           envelope={("ts",): "time", ("cs",): "int?"}),
    Sample("ws_ticker_linear_futures", "ws_ticker", "tickers", "tickers.data", ("symbol",),
           _TICKER, envelope={("ts",): "time", ("cs",): "int?"}),
    Sample("ws_order", "ws_private", "order", "order", ("orderId",),
           _order_fields("dec>=0?", "category"), linear={("data", 0, "category"): "linear"},
           envelope=_PRIVATE_ENVELOPE),
    Sample("rest_open_orders", "rest_private", "order", "order", ("orderId",),
           _order_fields("dec>0", "category?"), envelope=_REST_ENVELOPE),
    Sample("ws_execution", "ws_private", "execution", "execution", ("execId",),
           _execution_fields("category"), envelope=_PRIVATE_ENVELOPE),
    Sample("rest_execution_list", "rest_private", "execution", "execution", ("execId",),
           _execution_fields("category?"), envelope=_REST_ENVELOPE),
    Sample("ws_position", "ws_private", "position", "position", ("symbol",),
           _position_fields("entryPrice", "category"), envelope=_PRIVATE_ENVELOPE),
    Sample("rest_position_list", "rest_private", "position", "position", ("symbol",),
           _position_fields("avgPrice", "category?"), linear=_LINEAR_PAGE,
           envelope=_REST_ENVELOPE),
    Sample("ws_wallet", "ws_private", "wallet", "wallet", ("coin", 0, "coin"), _WALLET,
           envelope=_PRIVATE_ENVELOPE),
    Sample("rest_wallet_balance", "rest_private", "wallet", "wallet", ("coin", 0, "coin"),
           _WALLET, envelope=_REST_ENVELOPE),
    Sample("funding_history", "rest_funding", "funding", "fundingHistory", ("symbol",),
           {("symbol",): "text", ("fundingRate",): "dec",
            ("fundingRateTimestamp",): "time"}, envelope=_REST_ENVELOPE, body=FUNDING_BODY),
)


# -- cases --------------------------------------------------------------------------------

def get(d: Any, path: Path_) -> Any:
    for step in path:
        d = d[step]
    return d


def put(d: Any, path: Path_, value: Any) -> None:
    parent = get(d, path[:-1])
    if value is MISSING:
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        return
    parent[path[-1]] = value


@dataclass
class Case:
    """One message of the table and what must come of it."""

    case_id: str
    sample: Sample
    mutation: str  # "field:mutation", "envelope field:mutation" or a frame-wide one
    message: dict[str, Any]
    outcome: str  # for m: KEEP, QUARANTINE or OTHER; whole-message: see ``whole``
    whole: bool = False  # the outcome is the whole message's, not m's
    error: str | None = None  # the ParseError field the quarantine row must name
    raw_text: str | None = None  # a frame given as text (truncated JSON)
    mutated: Path_ | None = None

    def keys(self) -> dict[str, Any]:
        """Key of a, m and b (None where the mutation removed it)."""
        items = self.sample.items(self.message)
        return {tag: _key(self.sample, item) for tag, item in zip("amb", items, strict=True)}

    def text(self) -> str:
        if self.raw_text is not None:
            return self.raw_text
        return json.dumps(self.message).replace(f'"{BIGINT}"', BIGINT_DIGITS)


def _key(sample: Sample, item: Any) -> Any:
    try:
        return get(item, sample.key)
    except (KeyError, IndexError, TypeError):
        return None


def base(sample: Sample, case_id: str) -> dict[str, Any]:
    """The sample as a linear message with three items keyed ``{case_id}-a/m/b``."""
    message = sample.message()
    for path, value in sample.linear.items():
        put(message, path, value)
    item = sample.items(message)[0]
    copies = []
    for tag in "amb":
        one = copy.deepcopy(item)
        put(one, sample.key, f"{case_id}-{tag}")
        copies.append(one)
    if sample.route == "ws_ticker":
        message["data"] = copies[1]  # the ticker's element is the message: m only
    elif sample.ws:
        message["data"] = copies
    else:
        message["result"]["list"] = copies
    return message


def _outcome(kind: Kind, mutation: str) -> str:
    if mutation in kind.kept:
        return KEEP
    return OTHER if mutation in kind.other else QUARANTINE


def cases(sample: Sample, now: int) -> Iterator[Case]:
    """Every case of ``sample``: the reference, field and envelope mutations, frame-wide."""
    numbers = iter(range(10_000))

    def next_id() -> str:
        return f"c{next(numbers):04d}"

    yield Case(next_id(), sample, "reference", base(sample, "c0000"), KEEP)
    for path, kind_name in sample.fields.items():
        kind = KINDS[kind_name]
        for mutation, value in kind.mutations(_original(sample, path), now):
            if mutation == "json_int_5000" and not sample.ws:
                continue  # pybit cannot decode such an answer: the request fails (test_rest)
            case_id = next_id()
            message = base(sample, case_id)
            item = sample.m(message)
            if path == sample.key and isinstance(value, str) and mutation != "empty":
                value = f"{case_id}-m{value[len(str(_original(sample, path))):]}"
            put(item, path, value)
            yield _field_case(sample, kind, case_id, path, mutation, message)
    if sample.route == "ws_ticker":
        yield from _ticker_deltas(sample, now, next_id)
    for path, kind_name in sample.envelope.items():
        kind = KINDS[kind_name]
        for mutation, value in kind.mutations(_lookup(sample.message(), path), now):
            case_id = next_id()
            message = base(sample, case_id)
            put(message, path, value)
            outcome = _outcome(kind, mutation)
            yield Case(case_id, sample, f"envelope {'.'.join(path)}:{mutation}", message,
                       outcome, whole=True,
                       error=f"{_envelope_where(sample)}.{'.'.join(map(str, path))}")
    yield from _frame_cases(sample, next_id)


def _ticker_deltas(sample: Sample, now: int, next_id: Any) -> Iterator[Case]:
    """The ticker's field mutations again, each carried by a delta of that field alone."""
    for path, kind_name in sample.fields.items():
        kind = KINDS[kind_name]
        for mutation, value in kind.mutations(_original(sample, path), now):
            case_id = next_id()
            message = base(sample, case_id)
            data = {"symbol": message["data"]["symbol"]}
            put(data, path, value)
            message.update(type="delta", data=data)
            outcome = KEEP if mutation == "missing" else _outcome(kind, mutation)
            yield Case(case_id, sample, f"delta {path[-1]}:{mutation}", message, outcome,
                       error=f"tickers.data.{path[-1]}", mutated=path)


def _original(sample: Sample, path: Path_) -> Any:
    return _lookup(sample.items(sample.message())[0], path)


def _lookup(d: Any, path: Path_) -> Any:
    """The value at ``path``, or "" where the sample has none."""
    try:
        return get(d, path)
    except (KeyError, IndexError):
        return ""


def _envelope_where(sample: Sample) -> str:
    return {"ws_ticker": "tickers", "ws_private": sample.topic}.get(sample.route, "rest")


def _field_case(sample: Sample, kind: Kind, case_id: str, path: Path_, mutation: str,
                message: dict[str, Any]) -> Case:
    outcome = _outcome(kind, mutation)
    where = sample.where
    if len(path) == 3:
        where, name = "wallet.coin[]", path[-1]
    else:
        name = path[-1]
    error = f"{where}.{name}"
    if sample.private and mutation in UNSTORABLE:
        outcome, error = QUARANTINE, sample.where
    if kind.name == "coins" and mutation in ("list", "not_objects"):
        error = "wallet.coin[]"
    return Case(case_id, sample, f"{'.'.join(map(str, path))}:{mutation}", message, outcome,
                error=error, mutated=path)


def _frame_cases(sample: Sample, next_id: Any) -> Iterator[Case]:
    """Extra fields, deep nesting and truncation: what costs an item, what a whole frame."""
    extras = [("extra field", {"x": [1, {"y": "z"}]}, KEEP, None),
              ("extra field nested 10 deep", _nested(10), KEEP, None),
              ("extra field NaN", math.nan, QUARANTINE if sample.private else KEEP,
               sample.where)]
    for mutation, value, outcome, error in extras:
        case_id = next_id()
        message = base(sample, case_id)
        put(sample.m(message), ("brandNewField",), value)
        yield Case(case_id, sample, mutation, message, outcome, error=error)
    case_id = next_id()
    message = base(sample, case_id)
    put(sample.m(message), ("brandNewField",), _nested(40))
    # WebSocket: the frame cannot be decoded safely; REST: the answer fails its request
    yield Case(case_id, sample, "extra field nested 40 deep", message, QUARANTINE, whole=True,
               error="json" if sample.ws else "rest")
    if sample.ws:
        case_id = next_id()
        message = base(sample, case_id)
        text = json.dumps(message)
        yield Case(case_id, sample, "truncated frame", message, QUARANTINE, whole=True,
                   error="json", raw_text=text[: len(text) // 2])
    if sample.route in ("ws_private", "rest_private", "rest_trades", "rest_funding") and \
            sample.topic != "wallet":
        for category in ("spot", "option", "inverse"):
            case_id = next_id()
            message = base(sample, case_id)
            if sample.ws:
                put(sample.m(message), ("category",), category)
                yield Case(case_id, sample, f"item category {category}", message, OTHER)
            else:
                put(message, ("result", "category"), category)
                yield Case(case_id, sample, f"page category {category}", message, OTHER,
                           whole=True)


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth - 1):
        value = [value]
    return value
