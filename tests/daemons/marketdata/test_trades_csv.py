"""Trade CSV readers: the bundled Binance capture and Bybit's public dump format."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemons.marketdata.trade import Trade
from daemons.marketdata.trades_csv import TradeFormatError, iter_trades_csv

BYBIT_HEADER = (
    "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,"
    "foreignNotional\n"
)


def test_iter_trades_csv_bundled_file_yields_every_trade_in_order() -> None:
    trades = list(iter_trades_csv())
    assert len(trades) == 21_313
    assert trades[0] == Trade(1723161256322, "5266583935", "Buy", 61800.3, 0.006)
    assert all(a.ts_ms <= b.ts_ms for a, b in zip(trades, trades[1:], strict=False))
    assert {t.side for t in trades} == {"Buy", "Sell"}


def test_iter_trades_csv_bybit_dump_newest_first_is_reversed(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT2024-08-08.csv"
    path.write_text(
        BYBIT_HEADER
        + "1723161256.5,BTCUSDT,Sell,0.25,61800.1,MinusTick,id-2,1.5e+12,0.25,15450.0\n"
        + "1723161256.123,BTCUSDT,Buy,0.01,61800.3,PlusTick,id-1,6.1e+10,0.01,618.0\n"
    )
    assert list(iter_trades_csv(path)) == [
        Trade(1723161256123, "id-1", "Buy", 61800.3, 0.01),
        Trade(1723161256500, "id-2", "Sell", 61800.1, 0.25),
    ]


def test_iter_trades_csv_unknown_header_raises_format_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(TradeFormatError, match="unknown trade CSV header"):
        list(iter_trades_csv(path))
