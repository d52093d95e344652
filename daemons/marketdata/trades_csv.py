"""Trade CSV readers: the bundled Binance capture and Bybit's public trade dumps.

Bybit's dumps (public.bybit.com/trading/) have the header
``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,
foreignNotional`` with ``timestamp`` in seconds as a float; the bundled Binance file has
``local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker``. The format
is detected from the header so a user can point the venue at either.

A Bybit day of BTCUSDT is about 1.5 million rows. As one Python object per row that took
12 s and 465 MB before a backtest could start, so the backtest reads files straight into
numpy columns (:func:`load_trade_arrays`, numpy's C parser, a chunk of lines at a time),
and the venue streams oldest-first files row by row (:func:`iter_trades_csv`). Bybit
writes its dumps newest first; such a file cannot be streamed oldest first, so it is
read into columns and walked backwards.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from daemons.marketdata.bars import DATA_DIR, open_text
from daemons.marketdata.rows import BadRowError, MarketDataError, checked, in_bounds
from daemons.marketdata.trade import Trade

BUNDLED_TRADES = DATA_DIR / "binance_usdm_btcusdt_trades_2024-08-08T2354.csv.gz"
BINANCE_COLUMNS = ("trade_time_ms", "trade_id", "price", "qty", "is_buyer_maker")
BYBIT_COLUMNS = ("timestamp", "side", "size", "price", "trdMatchID")
CHUNK_ROWS = 8_192  # lines per numpy call: bounds the text held at once (and is fastest)
YIELD_ROWS = 4_096  # columns turned into Trade objects this many at a time


#: Each format's column for the fields a Trade needs (``side``: the taker side for Bybit,
#: ``is_buyer_maker`` for Binance).
_FIELDS = {
    "binance": {"ts": "trade_time_ms", "trade_id": "trade_id", "side": "is_buyer_maker",
                "price": "price", "size": "qty"},
    "bybit": {"ts": "timestamp", "trade_id": "trdMatchID", "side": "side", "price": "price",
              "size": "size"},
}


class TradeFormatError(MarketDataError):
    """The CSV header matches neither supported trade format."""


def detect_format(header: list[str]) -> str:
    """Return ``"binance"`` or ``"bybit"`` for a CSV header, else raise."""
    names = {h.strip() for h in header}
    if all(c in names for c in BINANCE_COLUMNS):
        return "binance"
    if all(c in names for c in BYBIT_COLUMNS):
        return "bybit"
    shown = str(sorted(names))
    if len(shown) > 120:  # a long line read as a header must not flood a one-line error
        shown = f"{shown[:120]}... ({len(shown)} characters)"
    raise TradeFormatError(
        f"unknown trade CSV header {shown}; expected Bybit's public dump columns "
        f"{BYBIT_COLUMNS} or the bundled Binance columns {BINANCE_COLUMNS}"
    )


@dataclass(frozen=True)
class Layout:
    """Where a file's fields are: its format and the column index of each field.

    ``side`` is Bybit's taker side or Binance's ``is_buyer_maker``; indices come from the
    header, so column order and extra columns do not matter.
    """

    kind: str
    ts: int
    trade_id: int
    side: int
    price: int
    size: int

    @classmethod
    def of(cls, header: list[str]) -> Layout:
        """The layout of a header; raises :class:`TradeFormatError` if it is neither format."""
        kind = detect_format(header)
        index = {name.strip(): i for i, name in enumerate(header)}
        return cls(kind, **{field: index[column] for field, column in _FIELDS[kind].items()})

    @property
    def width(self) -> int:
        """The fewest fields a data row must have."""
        return max(self.ts, self.trade_id, self.side, self.price, self.size) + 1

    def trade(self, row: list[str]) -> Trade:
        """One CSV row as a Trade (the streaming path).

        ValueError for a short row, a field that is not a number, or a time, price or
        size out of :mod:`~daemons.marketdata.rows` bounds.
        """
        if len(row) < self.width:
            raise ValueError(f"trade CSV row has {len(row)} fields, expected {self.width}")
        price = checked("price", float(row[self.price]))
        size = checked("size", float(row[self.size]))
        if self.kind == "binance":
            taker_sold = row[self.side].strip().lower() in ("true", "1")
            return Trade(ts_ms=checked("time", int(row[self.ts])), trade_id=row[self.trade_id],
                         side="Sell" if taker_sold else "Buy", price=price, size=size)
        ts_ms = int(round(checked("time", float(row[self.ts]) * 1000)))
        return Trade(ts_ms=ts_ms, trade_id=row[self.trade_id],
                     side="Buy" if row[self.side].strip() == "Buy" else "Sell",
                     price=price, size=size)


def read_layout(path: Path) -> Layout:
    """Read only a file's header: a wrong file is refused before anything else is read."""
    with open_text(path) as handle:
        return Layout.of(next(csv.reader(handle), []))


def _chunk_columns(lines: list[str], layout: Layout, with_ids: bool) -> dict[str, np.ndarray]:
    """Parse a chunk of data lines with numpy's C reader into the final columns."""
    fields = np.dtype([("ts", "f8" if layout.kind == "bybit" else "i8"), ("side", "S8"),
                       ("price", "f8"), ("size", "f8")])
    options = {"delimiter": ",", "ndmin": 1, "comments": None, "quotechar": '"'}
    rows = np.loadtxt(lines, dtype=fields, usecols=(layout.ts, layout.side, layout.price,
                                                    layout.size), **options)
    ts_ms = rows["ts"] * 1000 if layout.kind == "bybit" else rows["ts"]
    valid = (in_bounds("time", ts_ms) & in_bounds("price", rows["price"])
             & in_bounds("size", rows["size"]))
    if not valid.all():
        raise ValueError("a time, price or size out of bounds")  # the row path finds which
    columns = {"ts_ms": _ts_ms(ts_ms, layout.kind),
               "price": np.ascontiguousarray(rows["price"]),
               "size": np.ascontiguousarray(rows["size"]),
               "is_buy": _is_buy(rows["side"], layout.kind)}
    if with_ids:
        columns["trade_id"] = np.loadtxt(lines, dtype="S", usecols=(layout.trade_id,), **options)
    return columns


def _ts_ms(ts_ms: np.ndarray, kind: str) -> np.ndarray:
    """Bybit's float milliseconds (seconds * 1000) as integers exactly as the row parser
    rounds them.

    ``rint`` rounds half to even like Python's ``round``, on the same float product.
    """
    if kind == "bybit":
        return np.rint(ts_ms).astype(np.int64)
    return np.ascontiguousarray(ts_ms)


def _is_buy(side: np.ndarray, kind: str) -> np.ndarray:
    """Whether the taker bought: Bybit's ``side``, or not Binance's ``is_buyer_maker``."""
    side = np.strings.strip(side)
    if kind == "bybit":
        return side == b"Buy"
    return ~np.isin(np.strings.lower(side), [b"true", b"1"])


def _read_columns(path: Path, layout: Layout, with_ids: bool) -> dict[str, np.ndarray]:
    """Every data row's columns in file order, parsed ``CHUNK_ROWS`` lines at a time."""
    parts: dict[str, list[np.ndarray]] = {}
    with open_text(path) as handle:
        handle.readline()
        first_line = 2
        while chunk := list(islice(handle, CHUNK_ROWS)):
            numbers = [first_line + i for i, line in enumerate(chunk) if not line.isspace()]
            lines = [chunk[number - first_line] for number in numbers]
            try:
                columns = _chunk_columns(lines, layout, with_ids) if lines else {}
            except ValueError as e:
                _refuse_first_bad_row(path, layout, lines, numbers)
                raise ValueError(f"{path.name}, lines {first_line}..{first_line + len(chunk) - 1}"
                                 f" (numpy counts rows from 0 there): {e}") from e
            for name, values in columns.items():
                parts.setdefault(name, []).append(values)
            first_line += len(chunk)
    if not parts:
        return _empty_columns(with_ids)
    return {name: np.concatenate(values) for name, values in parts.items()}


def _refuse_first_bad_row(path: Path, layout: Layout, lines: list[str],
                          numbers: list[int]) -> None:
    """Raise BadRowError for the first of ``lines`` the row parser refuses.

    numpy only says a chunk failed; the row parser applies the same bounds and names the
    line. Returns if it accepts every line (numpy refused something csv reads).
    """
    for number, row in zip(numbers, csv.reader(lines), strict=False):
        try:
            layout.trade(row)
        except ValueError as e:
            raise BadRowError(path, number, str(e)) from None


def _empty_columns(with_ids: bool) -> dict[str, np.ndarray]:
    columns = {"ts_ms": np.zeros(0, np.int64), "price": np.zeros(0), "size": np.zeros(0),
               "is_buy": np.zeros(0, bool)}
    if with_ids:
        columns["trade_id"] = np.zeros(0, "S1")
    return columns


def load_trade_arrays(path: Path | str | None = None, *,
                      with_ids: bool = False) -> dict[str, np.ndarray]:
    """Columns of a trade CSV, oldest first: ``ts_ms``, ``price``, ``size``, ``is_buy``.

    No Python object per row: numpy parses the text a chunk at a time. ``with_ids`` adds
    ``trade_id`` as a bytes array. A file whose first trade is later than its last
    (Bybit's newest-first dumps) is reversed, as a view.
    """
    source = Path(path) if path is not None else BUNDLED_TRADES
    layout = read_layout(source)
    columns = _read_columns(source, layout, with_ids)
    ts = columns["ts_ms"]
    if len(ts) > 1 and ts[0] > ts[-1]:
        columns = {name: values[::-1] for name, values in columns.items()}
    return columns


def _stream_rows(path: Path, layout: Layout) -> Iterator[Trade]:
    """The file's trades in file order, one row at a time."""
    with open_text(path) as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            if row and not (len(row) == 1 and row[0].isspace()):
                try:
                    trade = layout.trade(row)
                except ValueError as e:
                    raise BadRowError(path, reader.line_num, str(e)) from None
                yield trade


def _is_newest_first(path: Path, layout: Layout) -> bool:
    """Whether the first trade whose time differs from the first row's is earlier.

    Only the rows up to that one are read (usually two), so an oldest-first file can
    then be streamed without reading it whole.
    """
    rows = _stream_rows(path, layout)
    try:
        first = next(rows, None)
        if first is None:
            return False
        for trade in rows:
            if trade.ts_ms != first.ts_ms:
                return trade.ts_ms < first.ts_ms
        return False
    finally:
        rows.close()


def _iter_columns(columns: dict[str, np.ndarray]) -> Iterator[Trade]:
    """Trades from columns, building Python objects only ``YIELD_ROWS`` at a time."""
    for start in range(0, len(columns["ts_ms"]), YIELD_ROWS):
        part = {name: values[start:start + YIELD_ROWS].tolist()
                for name, values in columns.items()}
        for ts, trade_id, is_buy, price, size in zip(
            part["ts_ms"], part["trade_id"], part["is_buy"], part["price"], part["size"],
            strict=True,
        ):
            yield Trade(ts, trade_id.decode(), "Buy" if is_buy else "Sell", price, size)


def streams_rows(path: Path | str) -> bool:
    """Whether :func:`iter_trades_csv` streams ``path`` row by row (an oldest-first file)
    rather than reading and checking it whole at once (a newest-first one)."""
    source = Path(path)
    return not _is_newest_first(source, read_layout(source))


def iter_trades_csv(path: Path | str | None = None) -> Iterator[Trade]:
    """The trades of a CSV (plain or ``.gz``), oldest first, for a live consumer.

    The header is checked now (:class:`TradeFormatError` before anything is returned);
    an oldest-first file is then streamed, so its rows are parsed only as they are
    consumed and a bad row surfaces when reached. A newest-first file (Bybit's dumps) is
    read whole into columns, never into a list of rows, and yielded backwards.
    """
    source = Path(path) if path is not None else BUNDLED_TRADES
    layout = read_layout(source)
    if _is_newest_first(source, layout):
        return _iter_columns(load_trade_arrays(source, with_ids=True))
    return _stream_rows(source, layout)
