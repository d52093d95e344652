"""Backtests of captured data: the database source, stored results, seeding from a live run."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import numpy as np
import pytest
from typer.testing import CliRunner

from daemons.backtest.db_source import captured_span, db_tapes
from daemons.backtest.live_seed import load_live_seed, snapshot_document
from daemons.backtest.runner import (
    BacktestInputError,
    BacktestSpec,
    after_cut,
    run_backtest,
    seeded_spec,
)
from daemons.backtest.sources import tape_from_trades
from daemons.backtest.store import store_backtest
from daemons.cli.main import app
from daemons.db import accounts, runs, users
from daemons.db.copy_writer import copy_events
from daemons.db.times import datetime_of_ms
from daemons.marketdata.generator import generate_arrays
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.fast_replay import replay_tape
from gridcore.sim.models import make_fill_model
from gridcore.sim.replay import ReplayLoop
from gridcore.sim.tape import FUNDING, MarketTape
from tests.daemons.backtest.captured import store_tape

CONFIG = GridConfig(amount="0.001", grid_count=20, grid_step_pct=0.05)
START = 1_767_225_600_000  # 2026-01-01


@pytest.fixture(scope="module")
def tape():
    cols = generate_arrays(30_000, seed=3, start_ms=START)
    return tape_from_trades("BTCUSDT", cols["ts_ms"], cols["price"], cols["size"],
                            cols["is_buy"])


@pytest.fixture
def captured(db, tape):
    store_tape(db, tape)
    return db


def _spec(**overrides) -> BacktestSpec:
    return BacktestSpec(config=CONFIG, fill_model="QUEUE", queue_ahead=0.2, **overrides)


def test_db_source_replays_exactly_like_the_original_tape(captured, tape) -> None:
    span = captured_span(captured, "BTCUSDT")
    assert span == (int(tape.ts[tape.kind == 1][0]), int(tape.ts[tape.kind == 1][-1]))
    end = int(tape.ts[-1]) + 1
    from_db = run_backtest(_spec(start_ms=int(tape.ts[0]), end_ms=end),
                           db_tapes(captured, "BTCUSDT", int(tape.ts[0]), end))
    from_file = run_backtest(_spec(), tape)
    assert len(from_file.broker.fills) > 20
    assert from_db.digest == from_file.digest


def test_db_source_charges_captured_funding_like_the_original_tape(db, tape) -> None:
    """Two captured funding rows inside the window, one without a mark price (NULL in the
    database): the replay from the database pays exactly what the tape replay pays."""
    f_ts = tape.ts[[len(tape) // 3, 2 * len(tape) // 3]]
    funding = MarketTape.from_rows("BTCUSDT", ts=f_ts, kind=np.full(2, FUNDING),
                                   price=np.array([tape.price[len(tape) // 3] + 50, np.nan]),
                                   size=np.array([0.0003, -0.0002]))
    with_funding = MarketTape.merge(tape, funding)
    store_tape(db, with_funding)
    start, end = int(tape.ts[0]), int(tape.ts[-1]) + 1
    from_db = run_backtest(_spec(), db_tapes(db, "BTCUSDT", start, end, slice_ms=60_000))
    from_file = run_backtest(_spec(), with_funding)
    assert from_file.broker.funding_paid != 0
    assert from_db.digest == from_file.digest
    assert from_db.broker.funding_paid == from_file.broker.funding_paid


def test_db_source_slice_size_does_not_change_the_result(captured, tape) -> None:
    start, end = int(tape.ts[0]), int(tape.ts[-1]) + 1
    small = list(db_tapes(captured, "BTCUSDT", start, end, slice_ms=60_000))
    large = list(db_tapes(captured, "BTCUSDT", start, end))
    assert len(small) > len(large) >= 1
    assert run_backtest(_spec(), small).digest == run_backtest(_spec(), large).digest


def test_db_source_empty_window_yields_nothing(captured) -> None:
    assert list(db_tapes(captured, "BTCUSDT", 0, 1_000)) == []
    assert captured_span(captured, "ETHUSDT") is None


def test_store_backtest_writes_run_fills_equity_and_summary_for_owner_only(db, tape) -> None:
    with db.admin() as conn:
        alice = users.add_user(conn, "alice").user_id
        bob = users.add_user(conn, "bob").user_id
    run = run_backtest(_spec(), tape)
    run_id = store_backtest(db, alice, run, source="generated")
    with db.unit_of_work(alice) as conn:
        kind, status = conn.execute("SELECT run_type, status FROM runs WHERE run_id = %s",
                                    [run_id]).fetchone()
        fills = conn.execute("SELECT count(*), sum(exec_qty) FROM sim_executions"
                             " WHERE run_id = %s", [run_id]).fetchone()
        points = conn.execute("SELECT count(*) FROM equity_points WHERE run_id = %s",
                              [run_id]).fetchone()[0]
        digest, summary = conn.execute("SELECT digest, summary FROM backtest_results"
                                       " WHERE run_id = %s", [run_id]).fetchone()
    assert (kind, status) == ("backtest", "completed")
    assert fills == (len(run.broker.fills), sum(f.qty for f in run.broker.fills))
    assert points == len(run.result.equity_curve)
    assert digest == run.digest and summary["fills"] == len(run.broker.fills)
    with db.unit_of_work(bob) as conn:
        for table in ("runs", "sim_executions", "equity_points", "backtest_results"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def _record_live_state(db, user_id, account_id, run_id, engine, broker, ts: int,
                       events_at_ts: int) -> None:
    """What the live worker and the capture daemon would have stored by ``ts``."""
    at = datetime_of_ms(ts)
    document = snapshot_document(engine.save_state(), events_at_ts=events_at_ts,
                                 in_flight=broker.in_flight())
    with db.unit_of_work(user_id) as conn:
        conn.execute("INSERT INTO engine_snapshots (run_id, exchange_ts, state) VALUES"
                     " (%s, %s, %s)", [run_id, at, json.dumps(document)])
        copy_events(conn, "positions", [
            {"account_id": account_id, "symbol": "BTCUSDT", "position_idx": idx, "seq": 1,
             "side": "Buy" if idx == 1 else "Sell", "size": book.size,
             "avg_price": book.avg_entry, "exchange_ts": at, "local_ts": at}
            for idx, book in broker.positions.items()])
        copy_events(conn, "wallets", [{"account_id": account_id, "coin": "USDT",
                                       "wallet_balance": broker.balance, "exchange_ts": at,
                                       "local_ts": at}])
        copy_events(conn, "orders", [
            {"account_id": account_id, "run_id": run_id, "symbol": "BTCUSDT",
             "order_id": o.order_id, "order_link_id": o.order_link_id, "side": o.side,
             "order_type": "Limit", "price": o.price, "qty": o.qty, "order_status": "New",
             "reduce_only": o.reduce_only, "position_idx": o.position_idx,
             "cum_exec_qty": o.qty - o.leaves_qty, "leaves_qty": o.leaves_qty,
             "created_ts": datetime_of_ms(o.placed_ts), "exchange_ts": at, "local_ts": at}
            for o in broker.orders.values()])
        near = next(iter(broker.orders.values())).price
        copy_events(conn, "orders", [  # the user's own stop-losses: no grid orders
            {"account_id": account_id, "symbol": "BTCUSDT", "order_id": f"user-stop-{n}",
             "side": "Sell", "order_type": order_type, "price": price, "qty": Decimal("0.01"),
             "order_status": "Untriggered", "position_idx": 1, "leaves_qty": Decimal("0.01"),
             "exchange_ts": at, "local_ts": at, "raw_json": {"stopOrderType": "StopLoss"}}
            for n, (order_type, price) in enumerate((("Market", None), ("Limit", near)))])


def _cut_with_requests_in_flight(loop: ReplayLoop, tape, start: int) -> int:
    """Step the 'live' run event by event from ``start`` until a request is in flight and
    the next event shares the millisecond (the hard case: a cut inside a millisecond)."""
    for i in range(start, len(tape) - 1):
        loop.process(tape.event(i), int(tape.ts[i]))
        if i >= start + 1_000 and loop.broker.in_flight() and tape.ts[i + 1] == tape.ts[i]:
            return i + 1
    raise AssertionError("no cut with requests in flight inside a millisecond")


def _canonical_ids(state: dict) -> str:
    """The state as JSON with exchange order ids numbered by first appearance: orders placed
    after the cut get each broker's own numbering, everything else must be identical."""
    names: dict[str, str] = {}
    return re.sub(r'"simr?-\d+"', lambda m: names.setdefault(m[0], f'"order-{len(names)}"'),
                  json.dumps(state))


@pytest.mark.parametrize("latency_ms", [0, 250])
def test_seeded_replay_continues_exactly_where_the_live_run_stood(db, tape,
                                                                  latency_ms: int) -> None:
    """A 'live' run is recorded the way live components would at a cut inside a
    millisecond, with requests in flight when latency_ms > 0; the seeded replay of the rest
    fills exactly as the uninterrupted run did and ends in the same engine state."""
    with db.admin() as conn:
        alice = users.add_user(conn, "alice").user_id
    with db.unit_of_work(alice) as conn:
        account = accounts.add_account(conn, alice, "main", "local").account_id
        live_run = runs.start_run(conn, "live", CONFIG.to_mapping(), account_id=account).run_id
    engine = GridEngine(CONFIG, "0.1", "0.001", "bt", symbol="BTCUSDT")
    broker = SimBroker("BTCUSDT", make_fill_model("CONSERVATIVE"), latency_ms=latency_ms)
    loop = ReplayLoop(engine, broker, 60_000)
    cut = _cut_with_requests_in_flight(loop, tape, 0) if latency_ms else len(tape) // 2
    if not latency_ms:
        replay_tape([tape.window(0, cut)], engine, broker)
    cut_ts = int(tape.ts[cut - 1])
    stepped = cut - int(np.searchsorted(tape.ts, cut_ts, side="left"))
    in_flight = broker.in_flight()
    assert bool(in_flight) == bool(latency_ms)
    _record_live_state(db, alice, account, live_run, engine, broker, cut_ts, stepped)
    resting = {o.order_id for o in broker.orders.values()}
    fills_before = len(broker.fills)
    replay_tape([tape.window(cut, len(tape))], engine, broker)
    live_after = broker.fills[fills_before:]
    assert len(live_after) > 10

    with db.unit_of_work(alice) as conn:
        seed = load_live_seed(conn, live_run, cut_ts + 5)
    assert (seed.snapshot_ts, seed.events_at_ts) == (cut_ts, stepped) and seed.orders
    assert {o.order_id for o in seed.orders} == resting  # not the user's stop-losses
    assert list(seed.in_flight) == in_flight
    spec = BacktestSpec(config=GridConfig(amount="1"), fill_model="CONSERVATIVE",
                        latency_ms=latency_ms)
    seeded = run_backtest(seeded_spec(spec, seed), tape, seed=seed)
    assert seeded.spec.config == CONFIG, "the live engine's parameters, not the command line's"
    key = [(f.ts, f.order_link_id, f.side, f.price, f.qty) for f in live_after]
    assert [(f.ts, f.order_link_id, f.side, f.price, f.qty) for f in seeded.broker.fills] == key
    assert abs(seeded.broker.balance - broker.balance) < Decimal("1e-6")
    assert _canonical_ids(seeded.engine.save_state()) == _canonical_ids(engine.save_state())
    assert seeded.result.events == len(tape) - cut
    again = run_backtest(seeded_spec(spec, seed), tape, seed=seed)  # a seed is not used up
    assert [(f.ts, f.order_link_id, f.side, f.price, f.qty) for f in again.broker.fills] == key


def _live_run(db):
    with db.admin() as conn:
        alice = users.add_user(conn, "alice").user_id
    with db.unit_of_work(alice) as conn:
        account = accounts.add_account(conn, alice, "main", "local").account_id
        run_id = runs.start_run(conn, "live", CONFIG.to_mapping(), account_id=account).run_id
    return alice, account, run_id


def test_load_live_seed_reconciles_the_captured_orders_with_the_engines_view(db, tape) -> None:
    """An order the engine holds acknowledged, whose captured state carries a later exchange
    time than the snapshot's, is seeded from the engine's view; an order the venue took by
    then but whose placement the engine still counts in flight is not seeded twice."""
    alice, account, live_run = _live_run(db)
    engine = GridEngine(CONFIG, "0.1", "0.001", "bt", symbol="BTCUSDT")
    broker = SimBroker("BTCUSDT", make_fill_model("CONSERVATIVE"), latency_ms=250)
    cut = _cut_with_requests_in_flight(ReplayLoop(engine, broker, 60_000), tape, 0)
    cut_ts = int(tape.ts[cut - 1])
    stepped = cut - int(np.searchsorted(tape.ts, cut_ts, side="left"))
    _record_live_state(db, alice, account, live_run, engine, broker, cut_ts, stepped)
    late = next(iter(broker.orders.values()))
    pending = next(i for _, i in broker.in_flight() if hasattr(i, "price"))
    with db.admin() as conn:
        conn.execute("UPDATE orders SET exchange_ts = exchange_ts + interval '3 ms'"
                     " WHERE order_id = %s", [late.order_id])
    with db.unit_of_work(alice) as conn:
        copy_events(conn, "orders", [{
            "account_id": account, "run_id": live_run, "symbol": "BTCUSDT",
            "order_id": "venue-took-it", "order_link_id": pending.client_order_id,
            "side": pending.side, "order_type": "Limit", "price": pending.price,
            "qty": pending.qty, "order_status": "New", "position_idx": pending.position_idx,
            "leaves_qty": pending.qty, "created_ts": datetime_of_ms(cut_ts),
            "exchange_ts": datetime_of_ms(cut_ts), "local_ts": datetime_of_ms(cut_ts)}])
        seed = load_live_seed(conn, live_run, cut_ts)
    seeded = {o.order_link_id: o for o in seed.orders}
    assert set(seeded) == {o.order_link_id for o in broker.orders.values()}
    assert (seeded[late.order_link_id].price, seeded[late.order_link_id].leaves_qty) == (
        late.price, late.leaves_qty)
    assert pending.client_order_id not in seeded
    assert pending.client_order_id in {i.client_order_id for _, i in seed.in_flight}


def test_load_live_seed_refuses_a_snapshot_taken_before_the_market(db) -> None:
    """A run's first snapshot is stamped 0 (its engine had seen no market event); its
    first ticker came with the live feed's subscription, which no capture holds."""
    from daemons.db.errors import NotFound

    alice, _account, live_run = _live_run(db)
    engine = GridEngine(CONFIG, "0.1", "0.001", "bt", symbol="BTCUSDT")
    with db.unit_of_work(alice) as conn:
        conn.execute("INSERT INTO engine_snapshots (run_id, exchange_ts, state) VALUES"
                     " (%s, %s, %s)", [live_run, datetime_of_ms(0), json.dumps(
                         snapshot_document(engine.save_state(), events_at_ts=0,
                                           in_flight=()))])
        with pytest.raises(NotFound, match="before its engine saw the market"):
            load_live_seed(conn, live_run, START)


def test_seeded_replay_refuses_a_source_missing_the_snapshots_millisecond(tape) -> None:
    cut_ts = int(tape.ts[100])
    shorter = tape.window(0, int(np.searchsorted(tape.ts, cut_ts, side="right")))
    with pytest.raises(BacktestInputError, match="stepped 1 more events"):
        list(after_cut([shorter.window(100, len(shorter))], cut_ts,
                       len(shorter) - 100 + 1))


def test_load_live_seed_refuses_backtest_runs_and_missing_snapshots(db) -> None:
    from daemons.db.errors import InvalidInput, NotFound

    with db.admin() as conn:
        alice = users.add_user(conn, "alice").user_id
    with db.unit_of_work(alice) as conn:
        account = accounts.add_account(conn, alice, "main", "local").account_id
        backtest = runs.start_run(conn, "backtest", {}).run_id
        live = runs.start_run(conn, "live", {}, account_id=account).run_id
        with pytest.raises(InvalidInput, match="live or shadow"):
            load_live_seed(conn, backtest, START)
        with pytest.raises(NotFound, match="no engine snapshot"):
            load_live_seed(conn, live, START)


def test_cli_backtest_db_source_stores_for_user(db_env, db, tape) -> None:
    store_tape(db, tape)
    with db.admin() as conn:
        users.add_user(conn, "carol")
    result = CliRunner().invoke(app, ["backtest", "--source", "db", "--user", "carol",
                                      "--fill-model", "conservative", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    with db.admin() as conn:
        stored = conn.execute("SELECT r.run_type, b.digest, b.source FROM runs r"
                              " JOIN backtest_results b USING (run_id)").fetchall()
    assert stored == [("backtest", summary["digest"], "db")]
    assert summary["run_id"]


def test_cli_backtest_stored_strategy_uses_its_config_and_owner(db_env, db, tape) -> None:
    from daemons.db import strategies

    store_tape(db, tape)
    with db.admin() as conn:
        dora = users.add_user(conn, "dora").user_id
    with db.unit_of_work(dora) as conn:
        account = accounts.add_account(conn, dora, "main", "local").account_id
        strategy = strategies.add_strategy(conn, account, "BTCUSDT",
                                           {"amount": "0.002", "grid_count": 12,
                                            "grid_step": 0.05}).strategy_id
    result = CliRunner().invoke(app, ["backtest", "--source", "db", "--strategy", str(strategy),
                                      "--json"])
    assert result.exit_code == 0, result.output
    with db.unit_of_work(dora) as conn:
        snapshot, strategy_id = conn.execute(
            "SELECT config_snapshot, strategy_id FROM runs WHERE run_type = 'backtest'"
        ).fetchone()
    assert strategy_id == strategy and snapshot["config"]["grid_count"] == 12


def _dora_strategy(db, symbol: str = "BTCUSDT", fee_rate: str | None = None):
    """A stored strategy of user dora; with ``fee_rate``, one captured maker execution."""
    from daemons.db import strategies

    with db.admin() as conn:
        dora = users.add_user(conn, "dora").user_id
    with db.unit_of_work(dora) as conn:
        account = accounts.add_account(conn, dora, "main", "local").account_id
        strategy = strategies.add_strategy(conn, account, symbol,
                                           {"amount": "0.002", "grid_count": 12,
                                            "grid_step": 0.05}).strategy_id
        if fee_rate is not None:
            at = datetime_of_ms(START)
            copy_events(conn, "private_executions", [
                {"account_id": account, "symbol": symbol, "exec_id": "x1", "order_id": "o1",
                 "exchange_ts": at, "local_ts": at, "side": "Buy", "exec_price": Decimal(1),
                 "exec_qty": Decimal(1), "fee_rate": Decimal(fee_rate), "is_maker": True}])
    return dora, strategy


def _stored_params(db, user_id) -> dict:
    with db.unit_of_work(user_id) as conn:
        return conn.execute("SELECT params FROM backtest_results").fetchone()[0]


def test_cli_backtest_stored_strategy_pays_the_accounts_captured_maker_fee(db_env, db,
                                                                           tape) -> None:
    """No --source means the captured data (db), and the account's own fee rate."""
    store_tape(db, tape)
    dora, strategy = _dora_strategy(db, fee_rate="0.00015")
    result = CliRunner().invoke(app, ["backtest", "--strategy", str(strategy), "--json"])
    assert result.exit_code == 0, result.output
    params = _stored_params(db, dora)
    assert Decimal(params["maker_fee_rate"]) == Decimal("0.00015")
    with db.unit_of_work(dora) as conn:
        assert conn.execute("SELECT source FROM backtest_results").fetchone()[0] == "db"


def test_cli_backtest_maker_fee_option_wins_over_the_accounts_rate(db_env, db, tape) -> None:
    store_tape(db, tape)
    dora, strategy = _dora_strategy(db, fee_rate="0.00015")
    result = CliRunner().invoke(app, ["backtest", "--strategy", str(strategy),
                                      "--maker-fee", "0.0001", "--json"])
    assert result.exit_code == 0, result.output
    assert Decimal(_stored_params(db, dora)["maker_fee_rate"]) == Decimal("0.0001")


def test_cli_backtest_strategy_set_overrides_one_stored_parameter(db_env, db, tape) -> None:
    store_tape(db, tape)
    dora, strategy = _dora_strategy(db)
    result = CliRunner().invoke(app, ["backtest", "--strategy", str(strategy),
                                      "--set", "grid_count=16", "--json"])
    assert result.exit_code == 0, result.output
    with db.unit_of_work(dora) as conn:
        snapshot = conn.execute("SELECT config_snapshot FROM runs").fetchone()[0]
    assert snapshot["config"]["grid_count"] == 16 and snapshot["config"]["amount"] == "0.002"


@pytest.mark.parametrize(("extra", "message"), [
    (["--source", "bundled"], "--source bundled holds BTCUSDT prices, not ETHUSDT"),
    (["--source", "generated"], "--source generated holds BTCUSDT prices, not ETHUSDT"),
    ([], "no captured trades of ETHUSDT"),
])
def test_cli_backtest_strategy_never_replays_btc_bars_as_another_symbol(db_env, db, extra,
                                                                        message) -> None:
    _, strategy = _dora_strategy(db, symbol="ETHUSDT")
    result = CliRunner().invoke(app, ["backtest", "--strategy", str(strategy), *extra])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_cli_backtest_seed_run_stores_the_live_engines_config(db_env, db, tape) -> None:
    """--seed-run through the command line: the stored run carries the live engine's
    parameters, the live run's strategy and account, and links to the live run."""
    store_tape(db, tape)
    dora, strategy = _dora_strategy(db)
    with db.unit_of_work(dora) as conn:
        account = conn.execute("SELECT account_id FROM bybit_accounts").fetchone()[0]
        live_run = runs.start_run(conn, "live", CONFIG.to_mapping(), account_id=account,
                                  strategy_id=strategy).run_id
    engine = GridEngine(CONFIG, "0.1", "0.001", "bt", symbol="BTCUSDT")
    broker = SimBroker("BTCUSDT", make_fill_model("CONSERVATIVE"))
    cut = len(tape) // 2
    replay_tape([tape.window(0, cut)], engine, broker)
    cut_ts = int(tape.ts[cut - 1])
    _record_live_state(db, dora, account, live_run, engine, broker, cut_ts,
                       cut - int(np.searchsorted(tape.ts, cut_ts, side="left")))
    result = CliRunner().invoke(app, ["backtest", "--seed-run", str(live_run),
                                      "--from", str(cut_ts), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary["events"] == len(tape) - cut
    with db.unit_of_work(dora) as conn:
        snapshot, strategy_id, seeded_from = conn.execute(
            "SELECT r.config_snapshot, r.strategy_id, b.seeded_from FROM runs r"
            " JOIN backtest_results b USING (run_id) WHERE r.run_type = 'backtest'").fetchone()
    assert snapshot["config"] == CONFIG.to_mapping()
    assert (strategy_id, seeded_from) == (strategy, live_run)


@pytest.mark.parametrize(("args", "message"), [
    (["--source", "db", "--strategy", "999"], "unknown strategy 999"),
    (["--source", "db", "--symbol", "ETHUSDT"], "no captured trades of ETHUSDT"),
    (["--seed-run", "not-a-uuid", "--from", "2026-01-01"], "unknown run not-a-uuid"),
    (["--seed-run", "x", "--set", "grid_count=4"], "--seed-run with --set"),
    (["--seed-run", "x", "--config", "pyproject.toml"], "--seed-run with --config"),
    (["--seed-run", "x", "--balance", "5"], "--seed-run with --balance"),
    (["--strategy", "1", "--config", "pyproject.toml"], "--strategy with --config"),
    (["--strategy", "1", "--symbol", "ETHUSDT"], "--strategy with --symbol"),
    (["--user", "nobody"], "nobody"),
])
def test_cli_backtest_database_refusals_are_one_line(db_env, args, message) -> None:
    result = CliRunner().invoke(app, ["backtest", *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
