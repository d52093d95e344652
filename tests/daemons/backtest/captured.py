"""Write a tape into the captured market tables, as the capture daemon would have."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from daemons.db.copy_writer import copy_events
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms
from gridcore.sim.tape import FUNDING, TICKER, TRADE, MarketTape


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def store_tape(db: Database, tape: MarketTape) -> None:
    trades, tickers, funding = [], [], []
    for i in range(len(tape)):
        ts, local = datetime_of_ms(int(tape.ts[i])), datetime_of_ms(int(tape.local_ts[i]))
        kind = int(tape.kind[i])
        if kind == TRADE:
            trades.append({"symbol": tape.symbol, "trade_id": f"{int(tape.seq[i]):09d}",
                           "exchange_ts": ts, "local_ts": local,
                           "side": "Buy" if tape.is_buy[i] else "Sell",
                           "price": _dec(tape.price[i]), "size": _dec(tape.size[i])})
        elif kind == TICKER:
            tickers.append({"symbol": tape.symbol, "exchange_ts": ts, "local_ts": local,
                            "cross_seq": int(tape.seq[i]), "last_price": _dec(tape.price[i])})
        elif kind == FUNDING:
            funding.append({"symbol": tape.symbol, "exchange_ts": ts, "local_ts": local,
                            "funding_rate": _dec(tape.size[i]),
                            "mark_price": None if np.isnan(tape.price[i]) else _dec(tape.price[i])})
    with db.market_data() as conn:
        copy_events(conn, "public_trades", trades)
        copy_events(conn, "tickers", tickers)
        copy_events(conn, "funding_rates", funding)
