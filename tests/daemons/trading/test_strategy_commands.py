"""`gridbot strategies mode|caps|clear-latch`: how the trading daemons run a strategy."""

from __future__ import annotations

from daemons.db import strategies
from tests.fixtures.cli import ok, refused
from tests.fixtures.tenants import make_tenant


def stored(db, strategy_id: int):
    with db.admin() as conn:
        return strategies.get_strategy(conn, strategy_id)


def test_strategies_mode_caps_and_clear_latch_are_stored(db_env, db, keyring) -> None:
    tenant = make_tenant(db, keyring, "alice")
    sid = str(tenant.strategy_id)
    assert "runs shadow" in ok("strategies", "mode", sid, "shadow")
    assert stored(db, tenant.strategy_id).mode == "shadow"
    ok("strategies", "caps", sid, "--max-open-orders", "12", "--max-session-loss", "25.5")
    assert stored(db, tenant.strategy_id).caps == {"max_open_orders": 12,
                                                   "max_session_loss": "25.5"}
    with db.admin() as conn:
        conn.execute("UPDATE strategies SET latched_at = now(), latch_reason = 'session loss'"
                     " WHERE strategy_id = %s", [tenant.strategy_id])
    listing = ok("strategies", "list", "--user", "alice")
    assert "session loss" in listing and "shadow" in listing
    assert "was: session loss" in ok("strategies", "clear-latch", sid)
    assert stored(db, tenant.strategy_id).latch_reason is None
    assert "none" in ok("strategies", "caps", sid, "--clear")
    assert stored(db, tenant.strategy_id).caps == {}


def test_strategies_bad_mode_or_caps_are_refused_in_one_line(db_env, db, keyring) -> None:
    tenant = make_tenant(db, keyring, "bob")
    sid = str(tenant.strategy_id)
    assert "use one of live, shadow" in refused("strategies", "mode", sid, "paper")
    assert "max_session_loss" in refused("strategies", "caps", sid, "--max-session-loss",
                                         "-5", exit_code=2)
    assert "unknown strategy" in refused("strategies", "clear-latch", "999999")
    assert stored(db, tenant.strategy_id).mode == "live"
