"""Operator commands against a real database: happy paths and one-line refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemons.cli.main import app
from daemons.db import credentials
from daemons.db.session import Database
from daemons.secrets.keys import load_keyring
from tests.fixtures.cli import operator_stderr_lines
from tests.fixtures.secrets import make_secret_text

runner = CliRunner()
TABLES = ("users", "bybit_accounts", "api_credentials", "strategies", "runs")


def gridbot(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def ok(*args: str, stdin: str | None = None) -> str:
    result = gridbot(*args, stdin=stdin)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


@pytest.fixture
def populated(db_env: dict[str, str]) -> dict[str, str]:
    """alice (account main, a credential, a strategy) and bob (account main)."""
    ok("users", "add", "alice", "--email", "alice@example.com")
    ok("users", "add", "bob")
    ok("accounts", "add", "main", "--user", "alice", "--env", "testnet")
    ok("accounts", "add", "main", "--user", "bob", "--env", "local")
    ok("credentials", "add", "--account", "main", "--user", "alice", "--api-key", "AK1",
       stdin=make_secret_text() + "\n")
    ok("strategies", "add", "--account", "main", "--user", "alice", "--symbol", "BTCUSDT",
       "--set", "amount=0.01")
    return db_env


def _snapshot(db_env: dict[str, str]) -> dict[str, list]:
    db = Database(db_env["DATABASE_URL"])
    try:
        with db.admin() as conn:
            return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}
    finally:
        db.close()


BAD_INPUTS = [
    (("users", "add", "alice"), "user 'alice' already exists"),
    (("users", "add", "Bad Name"), "username 'Bad Name'"),
    (("users", "add", "carol", "--email", "ALICE@example.com"), "email"),
    (("accounts", "add", "x", "--user", "nobody", "--env", "testnet"), "unknown user 'nobody'"),
    (("accounts", "add", "x", "--user", "alice", "--env", "prod"), "environment 'prod'"),
    (("accounts", "add", "main", "--user", "alice", "--env", "testnet"), "already exists"),
    (("accounts", "disable", "nope"), "unknown account 'nope'"),
    (("accounts", "disable", "main"), "used by several users (alice, bob): pass --user"),
    (("strategies", "add", "--account", "main", "--user", "alice", "--symbol", "BTCUSDT",
      "--set", "amount=0.01"), "already has a strategy for BTCUSDT"),
    (("strategies", "add", "--account", "main", "--user", "alice", "--symbol", "ETHUSDT",
      "--set", "amount=0.01", "--set", "grid_count=abc"), "grid_count: must be an integer"),
    (("strategies", "add", "--account", "main", "--user", "alice", "--symbol", "ETHUSDT",
      "--set", "amount=0.01", "--set", "gird_step=1"), "gird_step: unknown parameter"),
    (("strategies", "add", "--account", "main", "--user", "alice", "--symbol", "ethusdt",
      "--set", "amount=0.01"), "symbol 'ethusdt'"),
    (("strategies", "add", "--account", "main", "--user", "alice", "--symbol", "ETHUSDT",
      "--config", "/nonexistent/grid.json"), "cannot read config file"),
    (("credentials", "add", "--account", "main", "--user", "alice", "--api-key", "AK2"),
     "already has an active credential"),
    (("credentials", "rotate", "--account", "main", "--user", "bob", "--api-key", "BK2"),
     "no active credential to rotate"),
    (("credentials", "add", "--account", "ghost", "--api-key", "AK9"), "unknown account 'ghost'"),
    (("strategies", "disable", "99999"), "unknown strategy 99999"),
    (("credentials", "add", "--account", "main", "--user", "bob", "--api-key", "bad key!"),
     "API key id"),


    (("credentials", "list", "--user", "nobody"), "unknown user 'nobody'"),
    (("strategies", "list", "--user", "nobody"), "unknown user 'nobody'"),
    (("strategies", "add", "--account", "main", "--user", "nobody", "--symbol", "ETHUSDT",
      "--set", "amount=0.01"), "unknown user 'nobody'"),
]
#: Malformed command lines: one ``error:`` line too, with click's usage exit code 2.
USAGE_ERRORS = [
    (("accounts", "add", "x", "--user", "alice"), "Missing option '--environment'"),
    (("strategies", "disable", "abc"), "Invalid value for 'strategy_id'"),
    (("credentials", "list", "--bogus"), "No such option: --bogus"),
    (("users", "nosuch"), "No such command 'nosuch'"),
    (("strategies", "add", "--account", "main", "--symbol", "ETHUSDT", "--set"),
     "Option '--set' requires an argument"),
    (("strategies", "add", "--account", "main", "--user", "alice", "--symbol", "ETHUSDT",
      "--set", "amount"), "expected KEY=VALUE, got 'amount'"),
]
CASES = [(args, message, 1) for args, message in BAD_INPUTS] + \
    [(args, message, 2) for args, message in USAGE_ERRORS]


@pytest.mark.parametrize(("args", "message", "exit_code"), CASES,
                         ids=[" ".join(a[:3]) + f"-{i}" for i, (a, _, _) in enumerate(CASES)])
def test_cli_bad_input_prints_one_line_exits_nonzero_changes_nothing(
        populated: dict[str, str], args: tuple[str, ...], message: str, exit_code: int) -> None:
    before = _snapshot(populated)
    result = gridbot(*args, stdin=make_secret_text() + "\n")
    assert result.exit_code == exit_code, result.output
    lines = operator_stderr_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert _snapshot(populated) == before


def test_cli_credentials_add_with_empty_stdin_is_refused(populated: dict[str, str]) -> None:
    result = gridbot("credentials", "add", "--account", "main", "--user", "bob",
                     "--api-key", "BK1", stdin="")
    assert result.exit_code == 1 and "no api secret given" in result.stderr


def test_cli_credentials_secret_is_read_from_stdin_and_stored_encrypted(
        db_env: dict[str, str], db: Database) -> None:
    secret = make_secret_text()
    ok("users", "add", "dave")
    ok("accounts", "add", "spot", "--user", "dave", "--env", "mainnet")
    out = ok("credentials", "add", "--account", "spot", "--api-key", "DK1", stdin=secret + "\n")
    listing = ok("credentials", "list")
    assert "DK1" in listing and "mk-" in listing and secret not in out + listing
    with db.admin() as conn:
        blobs = conn.execute("SELECT encrypted_secret, encrypted_data_key FROM api_credentials"
                             ).fetchone()
        account_id = conn.execute("SELECT account_id FROM bybit_accounts").fetchone()[0]
        loaded = credentials.load_active_credential(
            conn, load_keyring(Path(db_env["GRIDBOT_HOME"])), account_id)
    assert secret.encode() not in b"".join(bytes(b) for b in blobs)
    assert loaded.secret.reveal() == secret and loaded.api_key_id == "DK1"


def test_cli_credentials_commands_take_no_secret_option() -> None:
    for command in ("add", "rotate"):
        help_text = ok("credentials", command, "--help")
        assert "--secret" not in help_text and "--api-key" in help_text
    result = gridbot("credentials", "add", "--account", "a", "--api-key", "K", "--secret", "x")
    assert result.exit_code != 0


def test_cli_credentials_rotate_activates_new_and_schedules_old_deletion(
        populated: dict[str, str], db: Database) -> None:
    ok("credentials", "rotate", "--account", "main", "--user", "alice", "--api-key", "AK2",
       "--grace-hours", "2", stdin=make_secret_text() + "\n")
    with db.admin() as conn:
        rows = conn.execute("SELECT api_key_id, is_active, delete_after - rotated_at"
                            " FROM api_credentials ORDER BY created_at").fetchall()
        assert conn.execute("SELECT gridbot_purge_rotated_credentials(now() + interval '1 hour')"
                            ).fetchone()[0] == 0
        assert conn.execute("SELECT gridbot_purge_rotated_credentials(now() + interval '3 hours')"
                            ).fetchone()[0] == 1
    assert rows == [("AK1", False, timedelta(hours=2)), ("AK2", True, None)]


def test_cli_strategies_add_from_file_with_overrides(populated: dict[str, str], tmp_path: Path,
                                                     db: Database) -> None:
    config = tmp_path / "grid.yaml"
    config.write_text("amount: x0.001\ngrid_count: 30\ngrid_step: 0.5\n")
    out = ok("strategies", "add", "--account", "main", "--user", "bob", "--symbol", "ETHUSDT",
             "--config", str(config), "--set", "grid_count=12")
    strategy_id = int(out.split()[1])
    with db.admin() as conn:
        stored = conn.execute("SELECT config_json FROM strategies WHERE strategy_id = %s",
                              [strategy_id]).fetchone()[0]
    assert stored["grid_count"] == 12 and stored["grid_step_pct"] == 0.5
    assert stored["amount"] == "x0.001" and 0 < strategy_id < 1000
    listing = ok("strategies", "list", "--account", "main", "--user", "bob")
    assert "ETHUSDT" in listing and json.dumps(stored, sort_keys=True)[:20] in listing


@pytest.mark.parametrize("command", ["strategies", "backtest"])
def test_cli_config_set_wins_over_the_files_value_under_its_legacy_name(
        populated: dict[str, str], tmp_path: Path, db: Database, command: str) -> None:
    """One parser for every command: --set grid_step overrides the file's grid_step_pct
    (strategies add used to refuse it as given twice), and the file need not hold the
    order size --set gives (backtest used to refuse the file before the overrides)."""
    config = tmp_path / "grid.json"
    config.write_text(json.dumps({"grid_count": 30, "grid_step_pct": 0.2}))
    overrides = ("--config", str(config), "--set", "grid_step=0.5", "--set", "amount=0.01")
    if command == "backtest":
        summary = json.loads(ok("backtest", "--source", "generated", "--to", "2024-01-01T01:00",
                                "--no-store", "--json", *overrides))
        assert summary["fills"] >= 0
        return
    out = ok("strategies", "add", "--account", "main", "--user", "bob", "--symbol", "ETHUSDT",
             *overrides)
    with db.admin() as conn:
        stored = conn.execute("SELECT config_json FROM strategies WHERE strategy_id = %s",
                              [int(out.split()[1])]).fetchone()[0]
    assert (stored["grid_step_pct"], stored["grid_count"], stored["amount"]) == (0.5, 30, "0.01")


def test_cli_accounts_disable_and_enable_one_users_account(populated: dict[str, str]) -> None:
    assert "is disabled" in ok("accounts", "disable", "main", "--user", "bob")
    listing = ok("accounts", "list", "--user", "bob")
    assert "disabled" in listing and "alice" not in listing
    assert "is enabled" in ok("accounts", "enable", "main", "--user", "bob")


def test_cli_strategies_disable_and_enable(populated: dict[str, str], db: Database) -> None:
    with db.admin() as conn:
        strategy_id = conn.execute("SELECT strategy_id FROM strategies").fetchone()[0]
    assert "BTCUSDT) is disabled" in ok("strategies", "disable", str(strategy_id))
    listing = ok("strategies", "list", "--user", "alice")
    assert "BTCUSDT" in listing and " no " in listing
    assert "is enabled" in ok("strategies", "enable", str(strategy_id))
    assert " yes " in ok("strategies", "list", "--user", "alice")


def test_cli_users_list_shows_every_user(populated: dict[str, str]) -> None:
    listing = ok("users", "list")
    assert "alice" in listing and "bob" in listing and "alice@example.com" in listing


def test_cli_keys_rotate_rewraps_and_credentials_still_decrypt(
        populated: dict[str, str], db: Database) -> None:
    home = Path(populated["GRIDBOT_HOME"])
    old = load_keyring(home).active.key_id
    out = ok("keys", "rotate")
    new = load_keyring(home).active.key_id
    assert new != old and f"master key is now {new}; 1 data key(s) re-wrapped" in out
    listing = ok("keys", "list")
    assert new in listing and old in listing
    assert "retired " + old in ok("keys", "retire")
    with db.admin() as conn:
        account_id = conn.execute("SELECT account_id FROM api_credentials").fetchone()[0]
        credential = credentials.load_active_credential(conn, load_keyring(home), account_id)
    assert credential.api_key_id == "AK1"


def test_cli_db_status_lists_applied_migrations(db_env: dict[str, str]) -> None:
    out = ok("db", "status")
    assert "external (DATABASE_URL)" in out and "0001" in out and "applied" in out
    assert "pending" not in out


def test_cli_db_stop_with_database_url_is_refused(db_env: dict[str, str]) -> None:
    result = gridbot("db", "stop")
    assert result.exit_code == 1
    assert operator_stderr_lines(result.stderr) == [
        "error: DATABASE_URL is set: gridbot does not manage that server"]


def test_cli_db_partitions_creates_months_and_reports_strays(
        db_env: dict[str, str], db: Database) -> None:
    from daemons.db.copy_writer import copy_events
    from tests.fixtures.tenants import T0

    stray = T0.replace(year=2015)
    with db.market_data() as conn:
        copy_events(conn, "funding_rates", [("BTCUSDT", stray, stray, Decimal("0.0001"), None)])
    result = gridbot("db", "partitions", "--months-ahead", "5")
    assert result.exit_code == 0, result.stderr
    assert "created public_trades_p" in result.stdout
    assert "1 row(s) of funding_rates in its DEFAULT partition (2015-01 to 2015-01)" in \
        result.stderr


def test_sqlalchemy_url_names_the_driver(db: Database) -> None:
    import sqlalchemy

    from daemons.db.session import sqlalchemy_url

    engine = sqlalchemy.create_engine(sqlalchemy_url(db.admin_url))
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT count(*) FROM schema_migrations")
                                ).scalar() >= 5
    finally:
        engine.dispose()


def test_cli_list_user_shows_only_that_users_rows(populated: dict[str, str]) -> None:
    ok("credentials", "add", "--account", "main", "--user", "bob", "--api-key", "BK1",
       stdin=make_secret_text() + "\n")
    ok("strategies", "add", "--account", "main", "--user", "bob", "--symbol", "ETHUSDT",
       "--set", "amount=0.01")
    alice_keys, bob_keys = (ok("credentials", "list", "--user", u) for u in ("alice", "bob"))
    assert "AK1" in alice_keys and "BK1" not in alice_keys
    assert "BK1" in bob_keys and "AK1" not in bob_keys
    alice_grids, bob_grids = (ok("strategies", "list", "--user", u) for u in ("alice", "bob"))
    assert "BTCUSDT" in alice_grids and "ETHUSDT" not in alice_grids
    assert "ETHUSDT" in bob_grids and "BTCUSDT" not in bob_grids
    everything = ok("strategies", "list")
    assert "BTCUSDT" in everything and "ETHUSDT" in everything


def _next_month_partition(table: str) -> str:
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{table}_p{year}_{month:02d}"


def test_cli_db_status_warns_about_missing_partitions_and_strays_migrate_fixes_them(
        db_env: dict[str, str], db: Database) -> None:
    from daemons.db.copy_writer import copy_events
    from tests.fixtures.tenants import T0

    assert "this month and the next 3 exist" in ok("db", "status")
    gone = _next_month_partition("tickers")
    stray = T0.replace(year=2015)
    with db.admin() as conn:
        conn.execute(f"DROP TABLE {gone}")
    with db.market_data() as conn:
        copy_events(conn, "funding_rates", [("BTCUSDT", stray, stray, Decimal("0.0001"), None)])
    status = gridbot("db", "status")
    assert status.exit_code == 0, status.stderr
    assert operator_stderr_lines(status.stderr) == [
        f"warning: 1 partition(s) of the next 3 months missing ({gone}): run `gridbot db"
        " migrate` or `gridbot db partitions`",
        "warning: 1 row(s) of funding_rates in its DEFAULT partition (2015-01 to 2015-01):"
        " adopt them with `SELECT * FROM gridbot_adopt_strays()` (docs/runbook-db.md)"]
    migrated = gridbot("db", "migrate")
    assert migrated.exit_code == 0, migrated.stderr
    assert migrated.stdout.splitlines() == ["schema is up to date", f"created {gone}"]
    assert "funding_rates in its DEFAULT partition" in migrated.stderr
    assert "this month and the next 3 exist" in ok("db", "status")


def _rotate_alice_and_expire_the_old_key(db: Database) -> None:
    ok("credentials", "rotate", "--account", "main", "--user", "alice", "--api-key", "AK2",
       "--grace-hours", "1", stdin=make_secret_text() + "\n")
    with db.admin() as conn:
        conn.execute("UPDATE api_credentials SET delete_after = now() - interval '1 second'"
                     " WHERE NOT is_active")


def _stored_api_keys(db: Database) -> list[str]:
    with db.admin() as conn:
        return [r[0] for r in conn.execute("SELECT api_key_id FROM api_credentials ORDER BY 1")]


def test_cli_credentials_purge_deletes_keys_past_their_grace(populated: dict[str, str],
                                                              db: Database) -> None:
    assert ok("credentials", "purge") == "purged 0 rotated credential(s) past their grace period\n"
    _rotate_alice_and_expire_the_old_key(db)
    assert _stored_api_keys(db) == ["AK1", "AK2"]
    assert ok("credentials", "purge").startswith("purged 1 rotated credential(s)")
    assert _stored_api_keys(db) == ["AK2"]


def test_cli_db_migrate_purges_rotated_credentials(populated: dict[str, str],
                                                   db: Database) -> None:
    _rotate_alice_and_expire_the_old_key(db)
    assert "purged 1 rotated credential(s)" in ok("db", "migrate")
    assert _stored_api_keys(db) == ["AK2"]
