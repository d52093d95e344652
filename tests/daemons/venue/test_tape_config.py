"""Tape selection, the tape clock, and the accounts file."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

from daemons.marketdata.bars import load_bars
from daemons.venue.clock import TapeClock
from daemons.venue.config import (
    ConfigError,
    VenueConfig,
    load_accounts,
    parse_accounts,
    parse_symbols,
)
from daemons.venue.instruments import INSTRUMENTS
from daemons.venue.tape import open_tape, symbol_tapes


def test_open_tape_bars_starts_at_the_first_bundled_open() -> None:
    first = next(open_tape("bars", seed=1))
    bar = load_bars()[0]
    assert first.price == bar.open and bar.ts_ms <= first.ts_ms < bar.ts_ms + 60_000


def test_open_tape_detects_bybit_dump_and_bars_files(tmp_path: Path) -> None:
    dump = tmp_path / "BTCUSDT.csv"
    dump.write_text("timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,"
                    "homeNotional,foreignNotional\n"
                    "1700000001.0,BTCUSDT,Sell,0.5,37000.5,MinusTick,b,1,0.5,1\n"
                    "1700000000.0,BTCUSDT,Buy,0.1,37000.6,PlusTick,a,1,0.1,1\n")
    assert [t.trade_id for t in open_tape(str(dump), seed=1)] == ["a", "b"]
    bars = tmp_path / "bars.csv"
    bars.write_text("timestamp,open,high,low,close,volume\n1700000000,10,12,9,11,1000\n")
    prices = [t.price for t in open_tape(str(bars), seed=1)]
    assert prices[0] == 10 and prices[-1] == 11 and min(prices) == 9 and max(prices) == 12


def test_open_tape_trades_file_checks_the_header_and_every_row_up_front(
    tmp_path: Path,
) -> None:
    """Every row of a trades file is checked at start, newest-first (read whole: it cannot
    be streamed oldest first) or oldest-first (streamed afterwards); a good oldest-first
    file then plays from its first row."""
    header = ("timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,"
              "homeNotional,foreignNotional\n")
    bad = "1700000000.5,BTCUSDT,Buy,0.1,oops,PlusTick,x,1,0.1,1\n"
    rows = [f"{1700000000 + i}.0,BTCUSDT,Sell,0.5,37000.5,MinusTick,t{i},1,0.5,1\n"
            for i in range(3)]
    newest = tmp_path / "newest.csv"
    newest.write_text(header + rows[2] + rows[1] + bad + rows[0])
    with pytest.raises(ConfigError, match="tape: newest.csv, line 4: .*oops"):
        open_tape(str(newest), seed=1)
    oldest = tmp_path / "oldest.csv"
    oldest.write_text(header + "".join(rows) + bad)
    with pytest.raises(ConfigError, match="tape: oldest.csv, line 5: .*oops"):
        open_tape(str(oldest), seed=1)
    oldest.write_text(header + "".join(rows))
    assert [next(open_tape(str(oldest), seed=1)).trade_id] == ["t0"]
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="unknown trade CSV header"):
        open_tape(str(unknown), seed=1)


def test_open_tape_unknown_value_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="tape"):
        open_tape("/no/such/file.csv", seed=1)


@pytest.mark.parametrize(("name", "content"), [
    ("binary.csv", b"\xff\xfe\x00\x81binary"), ("fake.csv.gz", b"timestamp,open\n"),
])
def test_open_tape_file_that_is_not_csv_text_raises_one_line_config_error(
    tmp_path: Path, name: str, content: bytes,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"tape: {name}: not a UTF-8 CSV") as error:
        open_tape(str(path), seed=1)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("kind", ["a" * 10_000, "a\x00b", "", "/"])
def test_open_tape_hostile_value_raises_a_short_config_error(kind: str) -> None:
    with pytest.raises(ConfigError, match="tape: .* is not 'generated'") as error:
        open_tape(kind, seed=1)
    assert len(str(error.value)) < 250


def test_open_tape_generated_is_seeded_and_starts_now() -> None:
    a = list(islice(open_tape("generated", seed=3), 100))
    b = list(islice(open_tape("generated", seed=3), 100))
    assert [(t.price, t.size, t.side) for t in a] == [(t.price, t.size, t.side) for t in b]


def test_open_tape_generated_for_a_symbol_trades_at_its_level_size_and_rate() -> None:
    """ETHUSDT's generated tape (ratio 0.05, rate 0.25) is BTCUSDT's calibration scaled: the
    same notional per trade, a twentieth of the price, a quarter of the trades per second."""
    count = 20_000
    btc = list(islice(open_tape("generated", seed=3), count))
    eth = list(islice(open_tape("generated", seed=3, ratio=0.05, rate=0.25), count))
    btc_price, eth_price = (sum(t.price for t in tape) / count for tape in (btc, eth))
    assert 15 < btc_price / eth_price < 25
    btc_notional, eth_notional = (sum(t.price * t.size for t in tape) / count
                                  for tape in (btc, eth))
    assert 0.8 < eth_notional / btc_notional < 1.25
    btc_span, eth_span = (tape[-1].ts_ms - tape[0].ts_ms for tape in (btc, eth))
    assert 3.5 < eth_span / btc_span < 4.5


def test_open_tape_bars_for_a_symbol_starts_at_the_scaled_first_open() -> None:
    first = next(open_tape("bars", seed=1, ratio=0.05))
    assert first.price == pytest.approx(load_bars()[0].open * 0.05)


def test_symbol_tapes_play_a_file_as_the_first_symbol_and_scale_it_for_the_others(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "ETHUSDT.csv"
    dump.write_text("timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,"
                    "homeNotional,foreignNotional\n"
                    "1700000000.0,ETHUSDT,Buy,2.0,3000.5,PlusTick,a,1,2,1\n")
    config = VenueConfig(accounts=parse_accounts([{"api_key": "k", "api_secret": "s"}]),
                         tape=str(dump), symbols=parse_symbols("ETHUSDT,BTCUSDT,XRPUSDT"))
    tapes = {symbol: next(trades) for symbol, trades in symbol_tapes(config).items()}
    assert (tapes["ETHUSDT"].price, tapes["ETHUSDT"].size) == (3000.5, 2.0)
    assert (tapes["BTCUSDT"].price, tapes["BTCUSDT"].size) == pytest.approx((60_010, 0.1))
    assert (tapes["XRPUSDT"].price, tapes["XRPUSDT"].size) == pytest.approx((0.60010, 10_000))


def test_tape_clock_shifts_to_now_divides_by_speed_and_pauses() -> None:
    now = [1_000_000]
    clock = TapeClock(60.0, now=lambda: now[0])
    clock.anchor(5_000_000)
    assert clock.venue_ms(5_000_000) == 1_000_000
    assert clock.venue_ms(5_060_000) == 1_001_000  # one tape minute per second
    clock.pause()
    now[0] += 500
    clock.resume()
    assert clock.venue_ms(5_060_000) == 1_001_500


def test_load_accounts_reads_yaml_and_json_and_hides_secrets(tmp_path: Path) -> None:
    yaml_file = tmp_path / "a.yaml"
    yaml_file.write_text("accounts:\n  - {name: a, api_key: k1, api_secret: s1, usdt: 250}\n")
    json_file = tmp_path / "a.json"
    json_file.write_text(json.dumps([{"api_key": "k2", "api_secret": "s2"}]))
    (one,) = load_accounts(yaml_file)
    (two,) = load_accounts(json_file)
    assert one.usdt == Decimal(250) and two.usdt == Decimal(10000) and two.name == "account1"
    assert "s1" not in repr(one) and "s2" not in repr(two)
    duplicate = tmp_path / "d.json"
    duplicate.write_text(json.dumps([{"api_key": "k", "api_secret": "s"}] * 2))
    with pytest.raises(ConfigError, match="unique"):
        load_accounts(duplicate)



def test_load_accounts_more_keys_are_parsed_hidden_and_unique(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("- {name: a, api_key: k1, api_secret: s1,"
                    " more_keys: [{api_key: k1b, api_secret: s1b}]}\n")
    (one,) = load_accounts(path)
    assert one.keys() == {"k1": "s1", "k1b": "s1b"} and "s1b" not in repr(one)
    path.write_text("- {api_key: k1, api_secret: s1}\n"
                    "- {api_key: k2, api_secret: s2, more_keys: [{api_key: k1, api_secret: x}]}\n")
    with pytest.raises(ConfigError, match="unique"):
        load_accounts(path)
    path.write_text("- {api_key: k1, api_secret: s1, more_keys: [{api_key: k1b}]}\n")
    with pytest.raises(ConfigError, match=r"more_keys\[0\].api_secret"):
        load_accounts(path)


@pytest.mark.parametrize(("field", "value"), [
    ("leverage", "0"), ("leverage", "0.5"), ("leverage", "101"),
    ("maker_fee_rate", "1"), ("taker_fee_rate", "0.5"), ("taker_fee_rate", "-0.001"),
])
def test_accounts_file_out_of_range_values_name_the_field(field: str, value: str) -> None:
    entry = {"api_key": "k", "api_secret": "s", field: value}
    with pytest.raises(ConfigError, match=rf"accounts\[0\]\.{field}"):
        parse_accounts([entry])
    assert parse_accounts([{**entry, field: "1" if field == "leverage" else "0.001"}])


@pytest.mark.parametrize("rate", ["NaN", "Infinity", "0.0051", "-0.006"])
def test_config_refuses_funding_rates_beyond_the_cap(rate: str) -> None:
    account = parse_accounts([{"api_key": "k", "api_secret": "s"}])
    with pytest.raises(ConfigError, match="funding_rate"):
        VenueConfig(accounts=account, funding_rate=Decimal(rate))
    assert VenueConfig(accounts=account, funding_rate=Decimal("-0.005"))


@pytest.mark.parametrize(("field", "value"), [
    ("speed", float("inf")), ("speed", float("nan")), ("speed", 0.0), ("seed", -1),
    ("seed", 2**64), ("latency_ms_median", 1e300), ("depth_median_qty", float("nan")),
    ("funding_interval_s", 10**12), ("port", 65536),
])
def test_venue_config_refuses_non_finite_or_out_of_range_numbers(field: str, value: object) -> None:
    """Each would break the venue later: a speed of inf made every tape time 0."""
    account = parse_accounts([{"api_key": "k", "api_secret": "s"}])
    with pytest.raises(ConfigError, match=field):
        VenueConfig(accounts=account, **{field: value})


@pytest.mark.parametrize(("field", "value"), [
    ("tick_size", Decimal(0)), ("tick_size", Decimal("NaN")), ("qty_step", Decimal("-0.001")),
    ("qty_step", Decimal("1e400")), ("trade_rate", float("nan")), ("trade_rate", 0.0),
    ("trade_rate", 1e9),
])
def test_venue_config_refuses_a_symbol_with_a_bad_step_or_rate(field: str, value: object) -> None:
    """A zero tick divided by zero on the first order; a zero trade rate stretched every gap
    of the generated tape to infinity."""
    account = parse_accounts([{"api_key": "k", "api_secret": "s"}])
    symbols = (INSTRUMENTS["BTCUSDT"], replace(INSTRUMENTS["ETHUSDT"], **{field: value}))
    with pytest.raises(ConfigError, match=rf"symbols\.ETHUSDT\.{field}"):
        VenueConfig(accounts=account, symbols=symbols)


@pytest.mark.parametrize(("text", "error"), [
    ("BTCUSDT,DOGEUSDT", "unknown symbol 'DOGEUSDT'"), ("", "unknown symbol ''"),
    ("ETHUSDT:fast", "the rate after ':' must be a number"),
])
def test_parse_symbols_refuses_unknown_symbols_and_bad_rates(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_symbols(text)


def test_parse_symbols_keeps_order_and_sets_the_rate() -> None:
    chosen = parse_symbols("ethusdt:0.5,BTCUSDT")
    assert [i.symbol for i in chosen] == ["ETHUSDT", "BTCUSDT"]
    assert chosen[0].trade_rate == 0.5 and chosen[0].tick_size == Decimal("0.01")
    assert chosen[1] == INSTRUMENTS["BTCUSDT"]


@pytest.mark.parametrize("symbols", [(), (INSTRUMENTS["BTCUSDT"], INSTRUMENTS["BTCUSDT"])])
def test_venue_config_refuses_no_symbol_or_one_listed_twice(symbols: tuple) -> None:
    account = parse_accounts([{"api_key": "k", "api_secret": "s"}])
    with pytest.raises(ConfigError, match="symbols: "):
        VenueConfig(accounts=account, symbols=symbols)


@pytest.mark.parametrize("entry", [
    {"usdt": "1e400"}, {"usdt": "NaN"}, {"usdt": ["1"]}, {"usdt": True},
    {"name": {"a": 1}}, {"name": ""}, {"leverage": "1e999999999"},
])
def test_accounts_entry_hostile_value_is_refused_naming_the_field(entry: dict) -> None:
    field = next(iter(entry))
    with pytest.raises(ConfigError, match=rf"accounts\[0\]\.{field}"):
        parse_accounts([{"api_key": "k", "api_secret": "s", **entry}])


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x81", b"[" * 100_000 + b"]" * 100_000,
                                     b"#" * (2 << 20)])
def test_load_accounts_binary_deep_or_huge_file_is_one_config_error_without_content(
    tmp_path: Path, content: bytes,
) -> None:
    path = tmp_path / "accounts.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="accounts file") as error:
        load_accounts(path)
    assert len(str(error.value)) < 200 and "\n" not in str(error.value)


def test_load_accounts_special_file_is_refused_without_reading_it() -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        load_accounts("/dev/zero")
