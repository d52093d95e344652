"""Files that are not replayable market data are refused, naming the file and line.

Every reader is covered: trade CSVs in both formats through the column loader (the
backtest) and the row stream (the venue), bar CSVs, and files that are not CSV text at
all. The bad row sits after good ones so that a reader which skipped it, or replayed
what came before and stopped silently, would be caught.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from daemons.backtest.sources import tape_from_trade_file
from daemons.marketdata import trades_csv
from daemons.marketdata.bars import load_bars
from daemons.marketdata.rows import BadRowError, MarketDataError
from daemons.marketdata.trades_csv import iter_trades_csv, load_trade_arrays
from tests.daemons.marketdata.trade_files import BYBIT_HEADER

BINANCE_HEADER = "local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker\n"
BARS_HEADER = "timestamp,open,high,low,close,volume\n"


def bybit_row(ts: str = "1700000000.5", price: str = "37000.5", size: str = "0.5") -> str:
    return f"{ts},BTCUSDT,Sell,{size},{price},MinusTick,id-{ts}-{price},1,{size},1\n"


def binance_row(ts: str = "1700000000500", price: str = "37000.5", size: str = "0.5") -> str:
    return f"1,{ts},{ts},7,{price},{size},False\n"


def bar_row(o: str = "10", h: str = "12", low: str = "9", c: str = "11",
            v: str = "1000", ts: str = "1700000000") -> str:
    return f"{ts},{o},{h},{low},{c},{v}\n"


BAD_TRADE_VALUES = [
    {"price": "-50000"}, {"price": "0"}, {"price": "nan"}, {"price": "inf"}, {"price": "-inf"},
    {"size": "0"}, {"size": "-0.5"}, {"size": "NaN"}, {"size": "1e400"},
]
BAD_BYBIT_TIMES = [{"ts": "nan"}, {"ts": "inf"}, {"ts": "-5"}, {"ts": "1e300"}]
BAD_BINANCE_TIMES = [{"ts": "-5"}, {"ts": "99999999999999999"}]


def trade_file(tmp_path: Path, kind: str, bad: dict[str, str], good_after: int = 3) -> Path:
    """A file with two good trades, the bad one on line 4, then more good ones.

    Times rise, so the row stream sees an oldest-first file and streams it.
    """
    header, row = (BYBIT_HEADER, bybit_row) if kind == "bybit" else (BINANCE_HEADER, binance_row)
    times = ["1700000000.5", "1700000001", "1700000002"] if kind == "bybit" else [
        "1700000000500", "1700000001000", "1700000002000"]
    rows = [row(ts=times[0]), row(ts=times[1]), row(**{"ts": times[2], **bad})]
    rows += [row(ts=times[2]) for _ in range(good_after)]
    path = tmp_path / f"{kind}.csv"
    path.write_text(header + "".join(rows))
    return path


CASES = ([("bybit", bad) for bad in BAD_TRADE_VALUES + BAD_BYBIT_TIMES]
         + [("binance", bad) for bad in BAD_TRADE_VALUES + BAD_BINANCE_TIMES])


@pytest.mark.parametrize(("kind", "bad"), CASES)
def test_trade_file_bad_value_is_refused_by_the_column_loader_naming_the_line(
    tmp_path: Path, kind: str, bad: dict[str, str],
) -> None:
    path = trade_file(tmp_path, kind, bad)
    field = "time" if "ts" in bad else next(iter(bad))
    with pytest.raises(BadRowError, match=rf"^{kind}\.csv, line 4: {field}\b") as error:
        load_trade_arrays(path)
    assert error.value.line == 4


@pytest.mark.parametrize(("kind", "bad"), CASES)
def test_trade_file_bad_value_stops_the_row_stream_at_its_line(
    tmp_path: Path, kind: str, bad: dict[str, str],
) -> None:
    trades = iter_trades_csv(trade_file(tmp_path, kind, bad))
    assert [next(trades).price, next(trades).price] == [37000.5, 37000.5]
    with pytest.raises(BadRowError, match=rf"^{kind}\.csv, line 4: "):
        next(trades)


def test_bad_row_is_found_on_its_line_in_a_later_parse_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Line numbers count blank lines and earlier chunks: the numpy path maps them back."""
    monkeypatch.setattr(trades_csv, "CHUNK_ROWS", 4)
    rows = [bybit_row(), "\n", bybit_row(), bybit_row(), bybit_row(), "\n", bybit_row(),
            bybit_row(price="-50000"), bybit_row()]
    path = tmp_path / "chunks.csv"
    path.write_text(BYBIT_HEADER + "".join(rows))
    with pytest.raises(BadRowError, match=r"chunks\.csv, line 9: price must be a finite "
                                          r"number > 0, got -50000\.0"):
        load_trade_arrays(path)


def test_backtest_trade_file_source_refuses_a_negative_price(tmp_path: Path) -> None:
    path = trade_file(tmp_path, "bybit", {"price": "-50000"})
    with pytest.raises(BadRowError, match="line 4: price"):
        tape_from_trade_file("BTCUSDT", path)


def test_gzipped_trade_file_bad_row_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv.gz"
    path.write_bytes(gzip.compress(
        (BYBIT_HEADER + bybit_row() + bybit_row(size="0")).encode()))
    with pytest.raises(BadRowError, match=r"trades\.csv\.gz, line 3: size"):
        load_trade_arrays(path)


@pytest.mark.parametrize(("row", "reason"), [
    (bar_row(o="-50000"), "price"), (bar_row(c="nan"), "price"), (bar_row(h="inf"), "price"),
    (bar_row(low="0"), "price"), (bar_row(v="-1"), "volume"), (bar_row(v="nan"), "volume"),
    (bar_row(ts="nan"), "time"), (bar_row(ts="inf"), "time"), (bar_row(ts="-60"), "time"),
    (bar_row(low="11.5"), "low"), (bar_row(h="10.5"), "low"),
    (bar_row(ts="yesterday"), "isoformat"), ("1700000060,10,12\n", "float"),
])
def test_bars_file_bad_row_is_refused_naming_the_line(
    tmp_path: Path, row: str, reason: str,
) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(BARS_HEADER + bar_row() + bar_row(ts="1700000060") + row + bar_row())
    with pytest.raises(BadRowError, match=rf"^bars\.csv, line 4: .*{reason}"):
        load_bars(path)


def test_bars_file_zero_volume_bar_is_accepted(tmp_path: Path) -> None:
    """A quiet minute has no volume: that is data, not an error."""
    path = tmp_path / "bars.csv"
    path.write_text(BARS_HEADER + bar_row(v="0"))
    assert load_bars(path)[0].volume == 0.0


def test_bars_file_without_bar_columns_is_refused_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,close\n1700000000,1,2\n")
    with pytest.raises(MarketDataError, match="no column high, low, volume"):
        load_bars(path)


NOT_TEXT = {
    "binary.csv": b"\xff\xfe\x00\x81binary\x00",
    "binary.csv.gz": gzip.compress(b"\xff\xfe\x00\x81binary\x00"),
    "plain.csv.gz": b"timestamp,open\n1,2\n",  # not gzip at all
    "truncated.csv.gz": gzip.compress(BARS_HEADER.encode() + bar_row().encode() * 50)[:40],
}


@pytest.mark.parametrize("name", sorted(NOT_TEXT))
@pytest.mark.parametrize("reader", [load_bars, load_trade_arrays,
                                    lambda path: list(iter_trades_csv(path))])
def test_file_that_is_not_csv_text_is_refused_in_one_line(
    tmp_path: Path, name: str, reader: object,
) -> None:
    path = tmp_path / name
    path.write_bytes(NOT_TEXT[name])
    with pytest.raises(MarketDataError, match=rf"^{name.replace('.', '[.]')}: not a UTF-8 CSV") \
            as error:
        reader(path)  # type: ignore[operator]
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("content", "message"), [
    ((BARS_HEADER + bar_row() + bar_row(o="-5", ts="1700000060")).encode(),
     "error: tape: bars.csv, line 3: price must be a finite number > 0, got -5.0"),
    (b"\xff\xfe\x00\x81binary", "error: tape: bars.csv: not a UTF-8 CSV text file"),
])
def test_venue_tape_file_that_cannot_be_replayed_fails_in_one_line_before_serving(
    tmp_path: Path, content: bytes, message: str,
) -> None:
    """``gridbot venue --tape FILE``: the whole file is checked before the venue serves,
    so a bad row deep in it is one ``error:`` line at start, not a tape that stops
    mid-session (it used to be found only when the tape reached it)."""
    from typer.testing import CliRunner

    from daemons.cli.main import app
    from tests.fixtures.cli import operator_stderr_lines

    path = tmp_path / "bars.csv"
    path.write_bytes(content)
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text("- {name: a, api_key: k1, api_secret: not-a-real-secret-1, usdt: '5'}\n")
    accounts.chmod(0o600)
    result = CliRunner().invoke(app, ["venue", "--accounts", str(accounts), "--tape",
                                      str(path), "--port", "0"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    lines = operator_stderr_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith(message), lines
