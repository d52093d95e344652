"""The public side of capture: publicTrade and tickers of every symbol, on one connection.

Runs on the stream's thread: parse, map to rows, hand to the writer, note gaps for the
reconciler. A trade that does not parse is quarantined (verbatim) and counted, the
other trades of its message kept; a ticker message is one element. The stream goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from daemons.bybit import items as decode
from daemons.bybit import parsing
from daemons.bybit.endpoints import Endpoints
from daemons.bybit.streams import Stream, TradeContinuity, TradeMark, now_ms
from daemons.capture.reconciler import Reconciler, quarantine, record_gap
from daemons.capture.status import StatusBoard
from daemons.db import event_rows as rows
from daemons.db.event_writer import EventWriter

log = logging.getLogger(__name__)
CONNECTION = "public"


class PublicCapture:
    """Trades and tickers of ``symbols`` (each symbol once, whoever trades it)."""

    def __init__(self, endpoints: Endpoints, symbols: tuple[str, ...], writer: EventWriter,
                 board: StatusBoard, reconciler: Reconciler, *, stale_after_s: float = 10.0,
                 ping_interval_s: int = 20, ticker_gap_min_ms: int = 1000) -> None:
        self.symbols: tuple[str, ...] = ()
        self.writer = writer
        self.board = board
        self.reconciler = reconciler
        self.ticker_gap_min_ms = ticker_gap_min_ms
        self._contiguous_seq = endpoints.contiguous_trade_seq
        self.trades: dict[str, TradeContinuity] = {}
        self.tickers: dict[str, parsing.TickerMerger] = {}
        self.stream = Stream(CONNECTION, endpoints.ws_public_linear, self.on_message,
                             on_connect=self.on_connect, on_invalid=self.on_invalid,
                             stale_after_s=stale_after_s, ping_interval_s=ping_interval_s)
        self.add_symbols(symbols)

    def add_symbols(self, symbols: tuple[str, ...],
                    resume: dict[str, TradeMark] | None = None) -> None:
        """Capture ``symbols`` too, on the same connection (subscribed at once if connected).

        ``resume`` holds the last stored trade of a symbol captured before (see
        :meth:`resume_from`). The trackers are ready before the subscription is sent, so
        the first message of a new symbol always finds them.
        """
        symbols = tuple(s for s in symbols if s not in self.trades)
        for s in symbols:
            self.board.register(f"public/publicTrade.{s}", CONNECTION, "public_trades")
            self.board.register(f"public/tickers.{s}", CONNECTION, "tickers")
            self.tickers[s] = parsing.TickerMerger(s)
            self.trades[s] = TradeContinuity(s, self._contiguous_seq)
            if resume and s in resume:
                self.resume_from(s, resume[s])
        self.symbols += symbols
        self.stream.subscribe([t for s in symbols for t in (f"publicTrade.{s}", f"tickers.{s}")])

    def resume_from(self, symbol: str, mark: TradeMark) -> None:
        """Start as after a reconnect from ``mark`` (the last stored trade)."""
        self.trades[symbol].last = mark
        self.trades[symbol].reconnected()

    def on_connect(self, count: int) -> None:
        if count == 1:
            return
        # Copies: add_symbols may run on the refresh thread meanwhile.
        for tracker in list(self.trades.values()):
            tracker.reconnected()
        outage_ms = int(self.stream.last_outage_s * 1000)
        end = now_ms()
        for symbol, merger in list(self.tickers.items()):
            merger.reset()
            if outage_ms >= self.ticker_gap_min_ms:
                record_gap(self.writer, self.board, f"public/tickers.{symbol}", stream="tickers",
                           symbol=symbol, start_ms=end - outage_ms, end_ms=end,
                           reason="reconnect", filled=False,
                           detail="ticker states are not recoverable from REST")

    def on_message(self, message: dict[str, Any], local_ms: int) -> None:
        topic = message.get("topic")
        kind, _, symbol = str(topic).partition(".")
        if kind == "publicTrade" and symbol in self.trades:
            self._on_trades(symbol, message, local_ms)
        elif kind == "tickers" and symbol in self.tickers:
            self._on_ticker(symbol, message, local_ms)
        else:
            self._quarantine(str(topic), message, "unexpected topic", local_ms)

    def on_invalid(self, text: str, error: str) -> None:
        self._quarantine(None, text, error, now_ms())

    def _on_trades(self, symbol: str, message: dict[str, Any], local_ms: int) -> None:
        name = f"public/publicTrade.{symbol}"
        try:
            items = parsing.data_list(message, "publicTrade")
        except parsing.ParseError as e:
            self._quarantine(name, message, str(e), local_ms)
            return
        events, batch = rows.public_trades(decode.trades(
            items, lambda item: parsing.public_trade(item, local_ms),
            lambda item, e: self._quarantine(name, item, str(e), local_ms)))
        if not events:
            return
        self.writer.put(None, "public_trades", batch)
        self.board.events(name, len(events), events[-1].exchange_ts, local_ms)
        gap = self.trades[symbol].observe(events)
        if gap is not None:
            self.reconciler.public_gap(gap)

    def _on_ticker(self, symbol: str, message: dict[str, Any], local_ms: int) -> None:
        name = f"public/tickers.{symbol}"
        try:
            update = self.tickers[symbol].apply(message, local_ms)
        except parsing.ParseError as e:
            self._quarantine(name, message, str(e), local_ms)
            return
        self.writer.put(None, "tickers", [rows.ticker(update.event, update.extras)])
        self.board.events(name, 1, update.event.exchange_ts, local_ms)

    def _quarantine(self, name: str | None, payload: Any, error: str, local_ms: int) -> None:
        quarantine(self.writer, self.board, name, source="ws.public", topic=name,
                   payload=payload, error=error, local_ms=local_ms)
