"""Captured days for pipeline tests: generated BTC-like trades stored as capture stores them.

The tape is the backtest's own (``tape_from_trades``: trades, tickers, funding every 8 h),
written into the market tables by the backtest tests' helper, so what the pipeline reads
is what a capture of that market would hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from daemons.backtest.sources import tape_from_trades
from daemons.db import accounts, runs, strategies, users
from daemons.db.session import Database
from daemons.marketdata.generator import bundled_calibration, generate_arrays
from gridcore.sim.tape import MarketTape
from tests.daemons.backtest.captured import store_tape

#: A tight grid on a quiet generated market: fills within minutes.
GRID = {"amount": "0.001", "grid_count": 20, "grid_step": "0.05"}


def day_start_ms(day: str) -> int:
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
    return int(start.timestamp() * 1000)


def market_tape(symbol: str, day: str, *, trades: int = 3_000, seed: int = 3,
                offset_ms: int = 3_600_000, ticker_interval_ms: int = 1_000) -> MarketTape:
    """``trades`` generated trades of ``symbol`` from ``offset_ms`` into ``day``."""
    cols = generate_arrays(trades, seed, start_ms=day_start_ms(day) + offset_ms,
                           calibration=bundled_calibration())
    return tape_from_trades(symbol, cols["ts_ms"], cols["price"], cols["size"],
                            cols["is_buy"], ticker_interval_ms=ticker_interval_ms)


def store_market_day(db: Database, symbol: str, day: str, **kwargs: object) -> MarketTape:
    tape = market_tape(symbol, day, **kwargs)
    store_tape(db, tape)
    return tape


def add_strategy(db: Database, username: str, symbol: str, config: dict | None = None,
                 environment: str = "local") -> int:
    """A user with an account trading ``symbol`` (no credential): the strategy's id."""
    with db.admin() as conn:
        found = conn.execute("SELECT user_id FROM users WHERE username = %s",
                             [username]).fetchone()
        user_id = found[0] if found else users.add_user(
            conn, username, f"{username}@example.com").user_id
    with db.unit_of_work(user_id) as conn:
        account = conn.execute("SELECT account_id FROM bybit_accounts WHERE account_name"
                               " = 'main'").fetchone()
        account_id = account[0] if account else accounts.add_account(
            conn, user_id, "main", environment).account_id
        return strategies.add_strategy(conn, account_id, symbol,
                                       config or GRID).strategy_id


def add_run(db: Database, username: str, start: datetime, end: datetime | None = None,
            kind: str = "live", symbol: str = "BTCUSDT") -> UUID:
    """A ``kind`` run of a new strategy of ``username``, begun at ``start`` (its transaction,
    as if) and ended at ``end`` if given; no engine snapshot: nothing to replay."""
    strategy_id = add_strategy(db, username, symbol)
    with db.admin() as conn:
        user_id, account_id = conn.execute(
            "SELECT user_id, account_id FROM strategies WHERE strategy_id = %s",
            [strategy_id]).fetchone()
    with db.unit_of_work(user_id) as conn:
        run = runs.start_run(conn, kind, {"symbol": symbol, "tick_size": "0.1"},
                             account_id=account_id, strategy_id=strategy_id)
    with db.admin() as conn:
        conn.execute("UPDATE runs SET start_ts = %s, end_ts = %s, status = CASE WHEN"
                     " %s::timestamptz IS NULL THEN status ELSE 'stopped' END"
                     " WHERE run_id = %s", [start, end, end, run.run_id])
    return run.run_id
