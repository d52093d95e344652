"""The trading daemon against the local venue through pybit: orders, records, replay."""

from __future__ import annotations

from collections import Counter

from daemons.db.event_codec import from_document
from daemons.trading.records import intent_of
from daemons.venue.testing import wait_for
from gridcore import order_ids
from gridcore.config import GridConfig
from gridcore.engine import GridEngine
from tests.daemons.trading.conftest import (
    SYMBOL,
    make_daemon,
    store_tenants,
    trading,
    venue_open_orders,
)


def journal_so_far(db, user_id) -> bool:
    """Whether the user's live run has stored > 20 tickers, > 4 order updates and a
    snapshot."""
    with db.unit_of_work(user_id) as conn:
        tickers, orders, snapshots = conn.execute(
            "SELECT count(*) FILTER (WHERE kind = 'ticker'), count(*) FILTER (WHERE kind ="
            " 'order'), (SELECT count(*) FROM engine_snapshots) FROM engine_inputs").fetchone()
    return tickers > 20 and orders > 4 and snapshots >= 1


def test_trade_daemon_places_the_grid_and_records_a_replayable_run(
        db, keyring, venue, app_url, tmp_path) -> None:
    tenants = store_tenants(db, keyring, venue)
    daemon = make_daemon(db, keyring, venue, tmp_path / "home", app_url)
    with trading(daemon):
        wait_for(lambda: all(len(venue_open_orders(venue, n)) >= 4 for n in tenants.accounts),
                 timeout_s=30, what="every account's grid at the venue")
        # Trading goes on until every journal holds tickers, order updates and a
        # periodic snapshot (the one at stop comes on top).
        wait_for(lambda: all(journal_so_far(db, u) for u in tenants.users.values()),
                 timeout_s=90, what="every run's journal and a periodic snapshot")
        held = {name: venue_open_orders(venue, name) for name in tenants.accounts}
    for name, orders in held.items():
        ids = [o["orderLinkId"] for o in orders]
        assert len(ids) == len(set(ids)), "no duplicate orderLinkId"
        strategy = str(tenants.strategies[name][0])
        keys = [order_ids.decode(i) for i in ids]
        assert all(k is not None and k.strategy_id == strategy for k in keys), ids

    for name, user_id in tenants.users.items():
        with db.unit_of_work(user_id) as conn:
            run_id, config = conn.execute(
                "SELECT run_id, config_snapshot FROM runs WHERE run_type = 'live'").fetchone()
            inputs = conn.execute("SELECT kind, event FROM engine_inputs WHERE run_id = %s"
                                  " ORDER BY seq", [run_id]).fetchall()
            decisions = conn.execute("SELECT intent FROM engine_decisions WHERE run_id = %s"
                                     " ORDER BY seq", [run_id]).fetchall()
            snapshots = conn.execute("SELECT count(*) FROM engine_snapshots WHERE run_id = %s",
                                     [run_id]).fetchone()[0]
            status = conn.execute("SELECT status FROM runs WHERE run_id = %s",
                                  [run_id]).fetchone()[0]
        assert status == "stopped" and snapshots >= 2
        kinds = Counter(kind for kind, _ in inputs)
        assert kinds["ticker"] > 20 and kinds["order"] > 4, kinds
        # A fresh engine fed the journal makes exactly the recorded decisions.
        engine = GridEngine(GridConfig.from_mapping(config["config"]), config["tick_size"],
                            config["qty_step"], str(tenants.strategies[name][0]),
                            symbol=SYMBOL)
        replayed = [i for kind, event in inputs
                    for i in engine.on_event(from_document(kind, event))]
        assert replayed == [intent_of(d) for (d,) in decisions]
        assert len(decisions) >= 4
