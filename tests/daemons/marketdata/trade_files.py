"""Trade files for tests, and the reader the column loader replaced, as the reference.

The reference reads one ``Trade`` per row through ``csv.DictReader``, reverses a
newest-first file as a list, then builds columns (``load_trade_arrays`` and
``tape_from_trade_file`` before the column loader): the new readers must give exactly
what it gives.
"""

from __future__ import annotations

import csv
import gzip
import random
from pathlib import Path

import numpy as np

from daemons.backtest.sources import FUNDING_INTERVAL_MS, TICKER_INTERVAL_MS
from daemons.marketdata.bars import open_text
from daemons.marketdata.trade import Trade
from daemons.marketdata.trades_csv import detect_format
from gridcore.sim.tape import FUNDING, TICKER, TRADE, MarketTape

BYBIT_HEADER = ("timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,"
                "homeNotional,foreignNotional\n")


def bybit_lines(count: int = 1_500, seed: int = 5) -> list[str]:
    """Data lines oldest first (one row moved out of order), Bybit's dump format."""
    rng = random.Random(seed)
    ts_tenth_ms, ticks, lines = 17_000_000_000_000, 600_000, []
    for i in range(count):
        ts_tenth_ms += rng.choice((0, 0, 0, 1, 5, 10, 25, 3_000))
        ticks += rng.choice((-2, -1, 0, 0, 1, 2))
        seconds = f"{ts_tenth_ms // 10_000}.{ts_tenth_ms % 10_000:04d}"
        side = rng.choice(("Buy", "Sell"))
        size = rng.choice(("0.001", "0.25", "1.5", "0.013"))
        lines.append(f"{seconds},BTCUSDT,{side},{size},{ticks / 10!r},PlusTick,"
                     f"{rng.getrandbits(64):016x}-{i},1,{size},1\n")
    middle = count // 2
    lines[middle], lines[middle + 5] = lines[middle + 5], lines[middle]
    lines.insert(count // 5, "\n")
    return lines


def write(path: Path, lines: list[str]) -> Path:
    """A dump with these data lines (gzipped for a .gz name)."""
    text = BYBIT_HEADER + "".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _binance_row(row: dict[str, str]) -> Trade:
    taker_sold = row["is_buyer_maker"].strip().lower() in ("true", "1")
    return Trade(ts_ms=int(row["trade_time_ms"]), trade_id=row["trade_id"],
                 side="Sell" if taker_sold else "Buy", price=float(row["price"]),
                 size=float(row["qty"]))


def _bybit_row(row: dict[str, str]) -> Trade:
    return Trade(ts_ms=int(round(float(row["timestamp"]) * 1000)), trade_id=row["trdMatchID"],
                 side="Buy" if row["side"].strip() == "Buy" else "Sell",
                 price=float(row["price"]), size=float(row["size"]))


def row_trades(path: Path) -> list[Trade]:
    """Every trade as an object, oldest first (the old ``iter_trades_csv``)."""
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        kind = detect_format(list(reader.fieldnames or []))
        parse = _binance_row if kind == "binance" else _bybit_row
        trades = [parse(row) for row in reader]
    if len(trades) > 1 and trades[0].ts_ms > trades[-1].ts_ms:
        trades.reverse()
    return trades


def row_tape(symbol: str, path: Path) -> MarketTape:
    """The old ``tape_from_trade_file``: objects, then columns, then a stable sort, then
    the concatenated tape."""
    trades = row_trades(path)
    ts = np.fromiter((t.ts_ms for t in trades), dtype=np.int64, count=len(trades))
    order = np.argsort(ts, kind="stable")
    price = np.fromiter((t.price for t in trades), dtype=np.float64, count=len(trades))
    size = np.fromiter((t.size for t in trades), dtype=np.float64, count=len(trades))
    is_buy = np.fromiter((t.side == "Buy" for t in trades), dtype=bool, count=len(trades))
    return concatenated_tape(symbol, ts[order], price[order], size[order], is_buy[order])


def concatenated_tape(symbol: str, ts: np.ndarray, price: np.ndarray, size: np.ndarray,
                      is_buy: np.ndarray, funding_rate: float = 0.0001) -> MarketTape:
    """The old ``tape_from_trades``: every kind's rows concatenated, then sorted by
    ``MarketTape.from_rows``."""
    tick_ts = np.arange((ts[0] // TICKER_INTERVAL_MS + 1) * TICKER_INTERVAL_MS, ts[-1] + 1,
                        TICKER_INTERVAL_MS, dtype=np.int64)
    f_ts = np.arange((ts[0] // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS, ts[-1] + 1,
                     FUNDING_INTERVAL_MS, dtype=np.int64)
    last = [np.searchsorted(ts, t, side="left") - 1 for t in (tick_ts, f_ts)]
    n_extra = len(tick_ts) + len(f_ts)
    return MarketTape.from_rows(
        symbol, ts=np.concatenate([ts, tick_ts, f_ts]),
        kind=np.concatenate([np.full(len(ts), TRADE), np.full(len(tick_ts), TICKER),
                             np.full(len(f_ts), FUNDING)]),
        price=np.concatenate([price, price[last[0]], price[last[1]]]),
        size=np.concatenate([size, np.full(len(tick_ts), np.nan),
                             np.full(len(f_ts), funding_rate)]),
        is_buy=np.concatenate([is_buy, np.zeros(n_extra, bool)]),
        seq=np.concatenate([np.arange(len(ts)), np.arange(n_extra)]),
    )
