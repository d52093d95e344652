"""Row-level security, proven as the application role: raw SQL, every tenant table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import uuid4

import psycopg
import pytest

from daemons.db.partitions import list_partitions
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from tests.fixtures.postgres import PgTestServer
from tests.fixtures.secrets import make_master_key
from tests.fixtures.tenants import T0, Tenant, make_tenant

TENANT_TABLES = ["users", "bybit_accounts", "api_credentials", "strategies", "runs", "orders",
                 "private_executions", "positions", "wallets", "engine_decisions",
                 "raw_quarantine", "backtest_results", "sim_executions", "equity_points",
                 "engine_snapshots", "capture_gaps", "engine_inputs", "comparisons",
                 "comparison_results", "comparison_fills", "calibrations"]
SHARED_TABLES = {"public_trades", "tickers", "funding_rates"}


@pytest.fixture(scope="module")
def shared(pg_server: PgTestServer) -> Iterator[tuple[Database, Tenant, Tenant]]:
    """One database for the module: every test here leaves it unchanged (and checks so)."""
    name = pg_server.create_database()
    database = Database(pg_server.admin_url(name), pg_server.app_url(name))
    keyring = Keyring.of(make_master_key())
    alice = make_tenant(database, keyring, "alice")
    bob = make_tenant(database, keyring, "bob")
    yield database, alice, bob
    database.close()
    pg_server.drop_database(name)


@pytest.fixture
def db(shared: tuple[Database, Tenant, Tenant]) -> Database:
    return shared[0]


@pytest.fixture
def tenants(shared: tuple[Database, Tenant, Tenant]) -> tuple[Tenant, Tenant]:
    return shared[1], shared[2]


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_rls_select_star_as_user_a_returns_no_row_of_user_b(
        db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    alice, bob = tenants
    with db.unit_of_work(alice.user_id) as conn:
        cur = conn.execute(f"SELECT * FROM {table}")
        rows = cur.fetchall()
        names = [c.name for c in cur.description]
    assert rows, f"{table}: alice must see her own rows (else the test proves nothing)"
    assert all(row[names.index("user_id")] == alice.user_id for row in rows)
    bob_ids = {str(bob.user_id), str(bob.account_id), str(bob.run_id)}
    assert not bob_ids & {str(value) for row in rows for value in row}


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_rls_without_user_setting_sees_no_tenant_row(
        db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    with db.market_data() as conn:
        rows = conn.execute(f"SELECT * FROM {table} WHERE user_id IS NOT NULL").fetchall()
    assert rows == []


def test_rls_admin_context_sees_every_user(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    with db.admin() as conn:
        owners = {r[0] for r in conn.execute("SELECT user_id FROM bybit_accounts")}
    assert owners == {t.user_id for t in tenants}


# Each statement writes into bob's account (or run) while claiming user %(user)s.
INSERTS_INTO_ACCOUNT = {
    "bybit_accounts": ("INSERT INTO bybit_accounts (user_id, account_name, environment)"
                       " VALUES (%(user)s, 'stolen', 'testnet')"),
    "api_credentials": ("INSERT INTO api_credentials (user_id, account_id, api_key_id,"
                        " encrypted_secret, encrypted_data_key, encryption_key_id, is_active,"
                        " rotated_at) VALUES (%(user)s, %(account)s, 'K', '\\x00', '\\x00',"
                        " 'mk-x', false, now())"),
    "strategies": ("INSERT INTO strategies (user_id, account_id, symbol, config_json)"
                   " VALUES (%(user)s, %(account)s, 'ETHUSDT', '{}')"),
    "runs": ("INSERT INTO runs (user_id, account_id, run_type, gridcore_version,"
             " config_snapshot) VALUES (%(user)s, %(account)s, 'live', '0', '{}')"),
    "orders": ("INSERT INTO orders (user_id, account_id, symbol, order_id, side, order_type, qty,"
               " order_status, exchange_ts, local_ts) VALUES (%(user)s, %(account)s, 'BTCUSDT',"
               " 'x', 'Buy', 'Limit', 1, 'New', %(ts)s, %(ts)s)"),
    "private_executions": ("INSERT INTO private_executions (user_id, account_id, symbol,"
                           " exec_id, order_id, exchange_ts, local_ts, side, exec_price,"
                           " exec_qty) VALUES (%(user)s, %(account)s, 'BTCUSDT', 'x', 'x',"
                           " %(ts)s, %(ts)s, 'Buy', 1, 1)"),
    "positions": ("INSERT INTO positions (user_id, account_id, symbol, size, exchange_ts,"
                  " local_ts) VALUES (%(user)s, %(account)s, 'BTCUSDT', 1, %(ts)s, %(ts)s)"),
    "wallets": ("INSERT INTO wallets (user_id, account_id, coin, wallet_balance, exchange_ts,"
                " local_ts) VALUES (%(user)s, %(account)s, 'USDT', 1, %(ts)s, %(ts)s)"),
    "engine_decisions": ("INSERT INTO engine_decisions (user_id, run_id, seq, symbol,"
                         " exchange_ts, local_ts, trigger_kind, trigger_event, intent_kind,"
                         " intent) VALUES (%(user)s, %(run)s, 99, 'BTCUSDT', %(ts)s, %(ts)s,"
                         " 't', '{}', 'p', '{}')"),
    "raw_quarantine": ("INSERT INTO raw_quarantine (user_id, account_id, source, payload, error,"
                       " local_ts) VALUES (%(user)s, %(account)s, 's', 'p', 'e', %(ts)s)"),
    "backtest_results": ("INSERT INTO backtest_results (user_id, run_id, symbol, source,"
                         " fill_model, window_start, window_end, events, params, summary,"
                         " digest) VALUES (%(user)s, %(run)s, 'BTCUSDT', 'x', 'QUEUE', %(ts)s,"
                         " %(ts)s, 0, '{}', '{}', repeat('0', 64))"),
    "sim_executions": ("INSERT INTO sim_executions (user_id, run_id, seq, exchange_ts, exec_id,"
                       " order_id, order_link_id, side, exec_price, exec_qty, exec_fee,"
                       " realised_pnl, position_idx) VALUES (%(user)s, %(run)s, 99, %(ts)s,"
                       " 'x', 'x', 'x', 'Buy', 1, 1, 0, 0, 1)"),
    "equity_points": ("INSERT INTO equity_points (user_id, run_id, ts, balance, unrealised_pnl,"
                      " equity) VALUES (%(user)s, %(run)s, %(ts)s, 1, 0, 1)"),
    "engine_snapshots": ("INSERT INTO engine_snapshots (user_id, run_id, exchange_ts, state)"
                         " VALUES (%(user)s, %(run)s, %(ts)s, '{}')"),
    "engine_inputs": ("INSERT INTO engine_inputs (user_id, account_id, run_id, seq, kind,"
                      " exchange_ts, local_ts, event) VALUES (%(user)s, %(account)s, %(run)s,"
                      " 99, 'ticker', %(ts)s, %(ts)s, '{}')"),
    "comparisons": ("INSERT INTO comparisons (user_id, run_id, symbol, window_start, window_end,"
                    " latency, passed, origin) VALUES (%(user)s, %(run)s, 'BTCUSDT', %(ts)s,"
                    " %(ts)s + interval '1 minute', '{}', true, 'cli')"),
    "comparison_results": ("INSERT INTO comparison_results (user_id, comparison_id, fill_model,"
                           " passed, metrics, verdicts, live_pnl, pnl, pairs, missed, phantom)"
                           " VALUES (%(user)s, %(comparison)s, 'QUEUE', true, '[]', '{}', 0, 0,"
                           " 0, 0, 0)"),
    "comparison_fills": ("INSERT INTO comparison_fills (user_id, comparison_id, fill_model, seq,"
                         " kind, live_link_id, sim_link_id) VALUES (%(user)s, %(comparison)s,"
                         " 'CONSERVATIVE', 99, 'pair', 'x', 'x')"),
    "calibrations": ("INSERT INTO calibrations (user_id, run_id, symbol, queue_ahead,"
                     " latency_ms, fit_start, fit_end, test_start, test_end, in_sample,"
                     " out_of_sample, tried) VALUES (%(user)s, %(run)s, 'BTCUSDT', 0, 5,"
                     " %(ts)s, %(ts)s + interval '1 minute', %(ts)s + interval '1 minute',"
                     " %(ts)s + interval '2 minutes', '{}', '{}', '[]')"),
    "capture_gaps": ("INSERT INTO capture_gaps (gap_id, user_id, account_id, stream,"
                     " window_start, window_end, reason, filled) VALUES (gen_random_uuid(),"
                     " %(user)s, %(account)s, 'private', %(ts)s, %(ts)s, 'x', false)"),
}
#: Claiming bob's user id breaks the policy; claiming one's own breaks the composite key.
CLAIMS = {"victim": psycopg.errors.InsufficientPrivilege,
          "self": psycopg.errors.ForeignKeyViolation}


@pytest.mark.parametrize(("table", "claim"), [
    (table, claim) for table in sorted(INSERTS_INTO_ACCOUNT) for claim in sorted(CLAIMS)
    if (table, claim) != ("bybit_accounts", "self")  # an account of her own is allowed
])
def test_rls_insert_into_other_users_account_is_refused(
        db: Database, tenants: tuple[Tenant, Tenant], table: str, claim: str) -> None:
    alice, bob = tenants
    claimed = bob.user_id if claim == "victim" else alice.user_id
    params = {"user": claimed, "account": bob.account_id, "run": bob.run_id,
              "ts": T0 + timedelta(hours=1)}
    with db.admin() as conn:
        before = _snapshot(conn, bob)
        params["comparison"] = conn.execute("SELECT comparison_id FROM comparisons WHERE"
                                            " run_id = %s", [bob.run_id]).fetchone()[0]
    with pytest.raises(CLAIMS[claim]), db.unit_of_work(alice.user_id) as conn:
        conn.execute(INSERTS_INTO_ACCOUNT[table], params)
    with db.admin() as conn:
        assert _snapshot(conn, bob) == before


@pytest.mark.parametrize("statement", [
    "UPDATE bybit_accounts SET status = 'disabled' WHERE account_id = %(account)s",
    "UPDATE strategies SET is_enabled = false WHERE account_id = %(account)s",
    "UPDATE api_credentials SET is_active = false, rotated_at = now()"
    " WHERE account_id = %(account)s",
    "UPDATE runs SET status = 'failed' WHERE run_id = %(run)s",
    # users: gridbot_app may update no column of it at all (sql/0008, test_grants.py)
    "DELETE FROM strategies WHERE account_id = %(account)s",
    "DELETE FROM api_credentials WHERE account_id = %(account)s",
])
def test_rls_update_or_delete_of_other_users_rows_changes_nothing(
        db: Database, tenants: tuple[Tenant, Tenant], statement: str) -> None:
    alice, bob = tenants
    params = {"user": bob.user_id, "account": bob.account_id, "run": bob.run_id}
    with db.admin() as conn:
        before = _snapshot(conn, bob)
    with db.unit_of_work(alice.user_id) as conn:
        assert conn.execute(statement, params).rowcount == 0
    with db.admin() as conn:
        assert _snapshot(conn, bob) == before


def test_rls_moving_own_row_to_other_user_is_refused(
        db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    alice, bob = tenants
    with pytest.raises(psycopg.errors.InsufficientPrivilege), \
            db.unit_of_work(alice.user_id) as conn:
        conn.execute("UPDATE strategies SET user_id = %s", [bob.user_id])


@pytest.mark.parametrize("table", ["orders", "private_executions", "positions", "wallets",
                                   "engine_decisions"])
def test_rls_partitions_are_not_reachable_by_the_app_role(
        db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    """Policies live on the parent: naming a partition directly must not sidestep them."""
    alice, _ = tenants
    with db.admin() as conn:
        names = list_partitions(conn, table)
    assert f"{table}_default" in names and len(names) > 1
    for partition in names:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                db.unit_of_work(alice.user_id) as conn:
            conn.execute(f"SELECT * FROM {partition}")


def test_rls_app_role_is_not_superuser_bypassrls_or_owner(db: Database) -> None:
    with db.market_data() as conn:
        role, super_, bypass = conn.execute(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        owned = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_roles r"
                             " ON r.oid = c.relowner WHERE r.rolname = current_user"
                             " AND c.relpersistence <> 't'").fetchone()[0]  # temp: staging
    assert (role, super_, bypass, owned) == ("gridbot_app", False, False, 0)


def test_rls_every_table_with_user_id_has_a_policy(db: Database) -> None:
    """A future tenant table without a policy fails here, not in production."""
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, count(p.polname)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id'"
            " LEFT JOIN pg_policy p ON p.polrelid = c.oid"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " GROUP BY 1, 2 ORDER BY 1").fetchall()
    assert {name for name, _, _ in rows} == set(TENANT_TABLES)
    assert all(enabled and policies >= 1 for _, enabled, policies in rows), rows


def test_rls_shared_market_tables_are_readable_without_user(db: Database) -> None:
    with db.market_data() as conn:
        for table in sorted(SHARED_TABLES):
            conn.execute(f"SELECT * FROM {table} LIMIT 1")


def test_rls_set_role_mode_enforces_the_same_policies(
        db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    """Without a separate app login (DATABASE_URL only) units of work SET ROLE gridbot_app."""
    alice, bob = tenants
    shared = Database(db.admin_url, app_url=None)
    try:
        with shared.unit_of_work(alice.user_id) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == "gridbot_app"
            users = {r[0] for r in conn.execute("SELECT user_id FROM bybit_accounts")}
        assert users == {alice.user_id}
    finally:
        shared.close()


def test_rls_unknown_user_id_sees_nothing(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    with db.unit_of_work(uuid4()) as conn:
        assert conn.execute("SELECT count(*) FROM bybit_accounts").fetchone()[0] == 0


def _snapshot(conn: psycopg.Connection, tenant: Tenant) -> list[tuple]:
    out = []
    for table in TENANT_TABLES:
        out.append(tuple(conn.execute(f"SELECT * FROM {table} WHERE user_id = %s ORDER BY 1",
                                      [tenant.user_id]).fetchall()))
    return out
