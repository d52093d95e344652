"""Trade CSV readers: the bundled Binance capture and Bybit's public trade dumps.

Bybit's dumps (public.bybit.com/trading/) have the header
``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,
foreignNotional`` with ``timestamp`` in seconds as a float; the bundled Binance file has
``local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker``. The format
is detected from the header so a user can point the venue at either.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from daemons.marketdata.bars import DATA_DIR, open_text
from daemons.marketdata.trade import Trade

BUNDLED_TRADES = DATA_DIR / "binance_usdm_btcusdt_trades_2024-08-08T2354.csv.gz"
BINANCE_COLUMNS = ("trade_time_ms", "trade_id", "price", "qty", "is_buyer_maker")
BYBIT_COLUMNS = ("timestamp", "side", "size", "price", "trdMatchID")


class TradeFormatError(ValueError):
    """The CSV header matches neither supported trade format."""


def detect_format(header: list[str]) -> str:
    """Return ``"binance"`` or ``"bybit"`` for a CSV header, else raise."""
    names = {h.strip() for h in header}
    if all(c in names for c in BINANCE_COLUMNS):
        return "binance"
    if all(c in names for c in BYBIT_COLUMNS):
        return "bybit"
    raise TradeFormatError(
        f"unknown trade CSV header {sorted(names)}; expected Bybit's public dump columns "
        f"{BYBIT_COLUMNS} or the bundled Binance columns {BINANCE_COLUMNS}"
    )


def _binance_row(row: dict[str, str]) -> Trade:
    taker_sold = row["is_buyer_maker"].strip().lower() in ("true", "1")
    return Trade(
        ts_ms=int(row["trade_time_ms"]),
        trade_id=row["trade_id"],
        side="Sell" if taker_sold else "Buy",
        price=float(row["price"]),
        size=float(row["qty"]),
    )


def _bybit_row(row: dict[str, str]) -> Trade:
    return Trade(
        ts_ms=int(round(float(row["timestamp"]) * 1000)),
        trade_id=row["trdMatchID"],
        side="Buy" if row["side"].strip() == "Buy" else "Sell",
        price=float(row["price"]),
        size=float(row["size"]),
    )


def iter_trades_csv(path: Path | str | None = None) -> Iterator[Trade]:
    """Yield the trades of a CSV (plain or ``.gz``) oldest first.

    Bybit's dumps are written newest first; they are reversed so that every source has
    the same order. Raises :class:`TradeFormatError` on an unknown header.
    """
    source = Path(path) if path is not None else BUNDLED_TRADES
    with open_text(source) as handle:
        reader = csv.DictReader(handle)
        kind = detect_format(list(reader.fieldnames or []))
        parse = _binance_row if kind == "binance" else _bybit_row
        trades = [parse(row) for row in reader]
    if len(trades) > 1 and trades[0].ts_ms > trades[-1].ts_ms:
        trades.reverse()
    yield from trades


def load_trade_arrays(path: Path | str | None = None) -> dict[str, np.ndarray]:
    """Columns of a trade CSV as numpy arrays: ``ts_ms``, ``price``, ``size``, ``is_buy``."""
    trades = list(iter_trades_csv(path))
    return {
        "ts_ms": np.fromiter((t.ts_ms for t in trades), dtype=np.int64, count=len(trades)),
        "price": np.fromiter((t.price for t in trades), dtype=np.float64, count=len(trades)),
        "size": np.fromiter((t.size for t in trades), dtype=np.float64, count=len(trades)),
        "is_buy": np.fromiter((t.side == "Buy" for t in trades), dtype=bool, count=len(trades)),
    }
