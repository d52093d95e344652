"""Operator commands under hostile input (issue #11): tenants stay apart, stored text is
printed literally, empty and oversized values are refused, every failure is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from daemons.db import users
from daemons.db.errors import InvalidInput
from daemons.db.session import Database
from daemons.secrets.keys import Keyring, MasterKey
from tests.fixtures.cli import ok, refused, row_counts
from tests.fixtures.leak_guard import run_scanned
from tests.fixtures.secrets import make_secret_text
from tests.fixtures.tenants import Tenant, make_tenant


def account_status(db: Database, account_id: UUID) -> str:
    with db.admin() as conn:
        return conn.execute("SELECT status FROM bybit_accounts WHERE account_id = %s",
                            [account_id]).fetchone()[0]


@pytest.fixture
def tenants(db_env: dict[str, str], db: Database, master_key: MasterKey,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, Tenant]:
    """alice and bob, each with an account ``main``, a credential, a strategy and a run;
    the master key in ``GRIDBOT_MASTER_KEY``."""
    monkeypatch.setenv("GRIDBOT_MASTER_KEY", master_key.encode())
    keyring = Keyring.of(master_key)
    return {name: make_tenant(db, keyring, name) for name in ("alice", "bob")}


# -- names and ids are separate namespaces ------------------------------------------------

def test_cli_user_option_given_another_tenants_id_is_an_unknown_user(
        tenants: dict[str, Tenant]) -> None:
    bob = tenants["bob"]
    line = refused("credentials", "list", "--user", str(bob.user_id))
    assert line == f"error: unknown user '{bob.user_id}'"
    refused("accounts", "add", "side", "--user", str(bob.user_id), "--env", "testnet")
    refused("strategies", "list", "--user", str(bob.user_id))


def test_cli_account_argument_given_another_tenants_id_is_an_unknown_account(
        tenants: dict[str, Tenant], db: Database) -> None:
    bob = tenants["bob"]
    before = row_counts(db)
    assert refused("accounts", "disable", str(bob.account_id)) == \
        f"error: unknown account '{bob.account_id}'"
    refused("credentials", "list", "--account", str(bob.account_id))
    assert account_status(db, bob.account_id) == "enabled" and row_counts(db) == before


def test_cli_accounts_disable_takes_an_id_only_through_the_id_option(
        tenants: dict[str, Tenant], db: Database) -> None:
    bob = tenants["bob"]
    refused("accounts", "disable", "--id", str(bob.account_id), "--user", "alice")
    assert account_status(db, bob.account_id) == "enabled"
    assert ok("accounts", "disable", "--id", str(bob.account_id)) == \
        "account main of bob is disabled\n"
    assert account_status(db, bob.account_id) == "disabled"
    refused("accounts", "enable", "main", "--id", str(bob.account_id), exit_code=2)


def test_cli_a_legacy_name_shaped_like_an_id_is_looked_up_as_a_name(
        tenants: dict[str, Tenant], db: Database) -> None:
    """A user named (before names were checked) like bob's id is that user, not bob."""
    bob = tenants["bob"]
    with db.admin() as conn:
        conn.execute("INSERT INTO users (username) VALUES (%s)", [str(bob.user_id)])
    listing = ok("credentials", "list", "--user", str(bob.user_id))
    assert "KEYbob" not in listing
    ok("accounts", "add", "main", "--user", str(bob.user_id), "--env", "testnet")
    with db.admin() as conn:
        owners = conn.execute("SELECT u.username FROM bybit_accounts a JOIN users u"
                              " USING (user_id) ORDER BY 1").fetchall()
    assert sorted(owners) == sorted([("alice",), ("bob",), (str(bob.user_id),)])


@pytest.mark.parametrize("name", ["0f0e0d0c-0b0a-4908-8706-050403020100",
                                  "0f0e0d0c0b0a49088706050403020100",
                                  "0f0e-0d0c0b0a-4908-8706-0504-03020100"])
def test_cli_names_shaped_like_ids_are_refused(tenants: dict[str, Tenant], db: Database,
                                               name: str) -> None:
    before = row_counts(db)
    assert "looks like an id" in refused("users", "add", name)
    assert "looks like an id" in refused("accounts", "add", name, "--user", "alice",
                                         "--env", "testnet")
    assert row_counts(db) == before


# -- stored text is printed literally -------------------------------------------------------

HOSTILE_EMAILS = ["[/]@x", "[link=https://evil.example]x[/link]@x.example",
                  "a\x1b]8;;https://evil.example\x1b\\@x.example", "x" * 10_000 + "@x.example",
                  "x" * 250 + "@x.example", "alice@example.com\n", "a b@x.example", "a@-x.example"]


@pytest.mark.parametrize("email", HOSTILE_EMAILS, ids=range(len(HOSTILE_EMAILS)))
def test_users_hostile_email_is_refused_by_the_data_layer(db: Database, email: str) -> None:
    with pytest.raises(InvalidInput, match="is not an e-mail address") as caught, \
            db.admin() as conn:
        users.add_user(conn, "eve", email)
    assert "\x1b" not in str(caught.value) and len(str(caught.value)) < 200


@pytest.mark.parametrize(("email", "message"), [
    ("[/]@x", "is not an e-mail address"), ("x" * 250 + "@x.example", "at most 254"),
    ("a\x1b[31m@x.example", "a control character after --email"),
    ("x" * 5000 + "@x.example", "a value of 5010 characters (at most 4096)"),
])
def test_cli_users_add_hostile_email_is_refused(db_env: dict[str, str], db: Database,
                                                email: str, message: str) -> None:
    before = row_counts(db)
    line = refused("users", "add", "eve", "--email", email, exit_code=2 if "value" in message
                   or "control" in message else 1)
    assert message in line and "\x1b" not in line and len(line) < 600
    assert row_counts(db) == before


def test_cli_users_list_prints_stored_markup_and_escapes_literally_and_users_edit_fixes_it(
        db_env: dict[str, str], db: Database) -> None:
    """Rows stored before e-mails were checked: listing shows them, edit repairs them."""
    with db.admin() as conn:
        conn.execute("INSERT INTO users (username, email) VALUES ('eve', '[/]@x'),"
                     " ('mal', %s)", ["[link=https://e.example]\x1b[31mred\x07@x"])
    listing = ok("users", "list")
    assert "[/]@x" in listing and "[link=https://e.example][31mred@x" in listing
    assert "\x1b" not in listing and "\x07" not in listing
    assert ok("users", "edit", "eve", "--email", "eve@example.com") == \
        "user eve: e-mail changed\n"
    assert ok("users", "edit", "mal", "--clear-email") == "user mal: e-mail removed\n"
    with db.admin() as conn:
        emails = conn.execute("SELECT username, email FROM users ORDER BY 1").fetchall()
    assert emails == [("eve", "eve@example.com"), ("mal", None)]
    refused("users", "edit", "eve", exit_code=2)
    refused("users", "edit", "eve", "--email", "[/]@x")


def test_cli_users_disable_and_enable_set_the_status(tenants: dict[str, Tenant],
                                                     db: Database) -> None:
    assert ok("users", "disable", "bob") == "user bob is suspended\n"
    assert " suspended " in ok("users", "list")
    assert ok("users", "enable", "bob") == "user bob is active\n"
    refused("users", "disable", str(tenants["bob"].user_id))
    with db.admin() as conn:
        assert conn.execute("SELECT status FROM users WHERE username = 'bob'").fetchone() == \
            ("active",)


# -- an empty value never means "everything" ------------------------------------------------

@pytest.mark.parametrize("args", [
    ("credentials", "list", "--user", ""), ("strategies", "list", "--account", ""),
    ("credentials", "list", "--user="), ("accounts", "list", "--user", " "),
    ("backtest", "--balance", "", "--no-store"), ("backtest", "--symbol", ""),
])
def test_cli_empty_value_is_refused_as_usage_error(tenants: dict[str, Tenant],
                                                   args: tuple[str, ...]) -> None:
    assert "empty value" in refused(*args, exit_code=2)


# -- sizes and bytes -------------------------------------------------------------------------

@pytest.mark.parametrize(("stdin", "message"), [
    ("A" * 20_000_000 + "\n", "longer than 4096 characters"),
    ("abc\x00defghijk\n", "control characters"),
    (b"\xff\xfe\xfa secret\n", "not UTF-8 text"),
], ids=["20MB", "NUL", "binary"])
def test_cli_credentials_rotate_refuses_unusable_secret(
        tenants: dict[str, Tenant], db: Database, stdin: str | bytes, message: str) -> None:
    before = row_counts(db)
    line = refused("credentials", "rotate", "--account", "main", "--user", "alice",
                   "--api-key", "AK2", "--grace-hours", "1", stdin=stdin)
    assert message in line and row_counts(db) == before


def test_cli_db_partitions_refuses_too_many_months(db_env: dict[str, str], db: Database) -> None:
    before = row_counts(db)
    assert refused("db", "partitions", "--months-ahead", "1000") == \
        "error: months ahead: 1000 is not between 0 and 24"
    assert row_counts(db) == before


# -- backtest --user refuses another user's strategy or run ----------------------------------

def test_cli_backtest_user_refuses_another_users_strategy_and_run(
        tenants: dict[str, Tenant], db: Database) -> None:
    alice = tenants["alice"]
    before = row_counts(db)
    line = refused("backtest", "--strategy", str(alice.strategy_id), "--user", "bob",
                   "--source", "generated")
    assert line == f"error: strategy {alice.strategy_id} does not belong to user 'bob'"
    line = refused("backtest", "--seed-run", str(alice.run_id), "--user", "bob",
                   "--from", "2026-01-15T12:00:00")
    assert line == f"error: run {alice.run_id} does not belong to user 'bob'"
    assert row_counts(db) == before


# -- uncaught errors: one redacted line, the traceback only under --debug --------------------

def _gridbot_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = "from daemons.cli.main import app; app(prog_name='gridbot')"
    return run_scanned([sys.executable, "-c", script, *args], "gridbot", env=env, timeout=120)


def test_cli_uncaught_error_is_one_redacted_line_and_debug_adds_a_redacted_traceback(
        tmp_path: Path) -> None:
    password = make_secret_text()
    env = {**os.environ, "GRIDBOT_HOME": str(tmp_path),
           "DATABASE_URL": f"postgresql://admin:{password}@[::1/db",
           "GRIDBOT_APP_DATABASE_URL": "postgresql://gridbot_app@/gridbot"}
    plain = _gridbot_process("users", "list", env=env)
    assert plain.returncode == 1 and plain.stdout == ""
    assert plain.stderr.splitlines() == [
        "error: unexpected ProgrammingError: end of string reached when looking for matching"
        " \"]\" in IPv6 host address in URI: \"postgresql://admin:***@[::1/db\" (traceback:"
        " --debug or GRIDBOT_DEBUG=1)"]
    debug = _gridbot_process("--debug", "users", "list", env=env)
    from_env = _gridbot_process("users", "list", env={**env, "GRIDBOT_DEBUG": "1"})
    for run in (debug, from_env):
        assert run.returncode == 1 and "Traceback (most recent call last)" in run.stderr
        assert password not in run.stderr and "admin:***@" in run.stderr
        assert run.stderr.splitlines()[-1].startswith("error: unexpected ProgrammingError")


# -- files and numbers that used to end in a traceback ---------------------------------------

@pytest.fixture
def binary_file(tmp_path: Path) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    return path


def test_cli_non_utf8_config_is_one_line(tenants: dict[str, Tenant], binary_file: Path) -> None:
    assert "grid.yaml is not UTF-8 text" in refused(
        "strategies", "add", "--account", "main", "--user", "alice", "--symbol", "ETHUSDT",
        "--config", str(binary_file))
    assert "grid.yaml is not UTF-8 text" in refused("backtest", "--config", str(binary_file))


def test_cli_backtest_unreadable_source_is_one_line(db_env: dict[str, str], tmp_path: Path,
                                                    binary_file: Path) -> None:
    assert "not a UTF-8 CSV text file" in refused("backtest", "--source", str(binary_file))
    assert "is not a file" in refused("backtest", "--source", str(tmp_path))


@pytest.mark.parametrize("args", [
    ("credentials", "rotate", "--account", "main", "--api-key", "K", "--grace-hours", "inf"),
    ("credentials", "rotate", "--account", "main", "--api-key", "K", "--grace-hours", "1e300"),
    ("backtest", "--balance", "nan"), ("backtest", "--tick-size", "1e999"),
    ("backtest", "--qty-step", "inf"), ("demo", "--minutes", "inf"),
    ("backtest", "--latency-ms", "1" + "0" * 30), ("backtest", "--seed", "-1"),
    ("backtest", "--maker-fee", "-inf"),
])
def test_cli_non_finite_or_huge_number_is_a_usage_error(db_env: dict[str, str],
                                                        args: tuple[str, ...]) -> None:
    assert "Invalid value for" in refused(*args, exit_code=2)


@pytest.mark.parametrize("moment", ["1" + "0" * 30, "99999999999999999", "0001-01-01"])
def test_cli_backtest_time_out_of_range_is_one_line(db_env: dict[str, str],
                                                    moment: str) -> None:
    assert "is not between 1970 and 9999" in refused("backtest", "--from", moment)


@pytest.mark.parametrize("content", [b"[]", b'{"streams": 5}', b'"x"'])
def test_cli_capture_status_with_a_bad_status_file_is_one_line(db_env: dict[str, str],
                                                                content: bytes) -> None:
    status = Path(db_env["GRIDBOT_HOME"]) / "capture" / "status.json"
    status.parent.mkdir(parents=True)
    status.write_bytes(content)
    assert refused("capture", "status").startswith("error: unexpected ")


@pytest.mark.parametrize("option", ["--tick-size", "--qty-step"])
def test_cli_backtest_absurdly_small_step_is_a_usage_error(db_env: dict[str, str],
                                                          option: str) -> None:
    """A tick of 1e-300 put prices past what an order id can name (a misleading error)."""
    assert "greater than or equal to 1E-10" in refused("backtest", "--source", "bundled",
                                                       "--no-store", option, "1e-300",
                                                       exit_code=2)
