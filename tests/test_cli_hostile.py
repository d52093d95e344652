"""Every `gridbot` command and option against hostile values (issue #11).

The cases are collected from the CLI itself: every parameter that takes a value, of every
command, gets the hostile values of its type (strings: empty, 10k characters, control
characters, rich markup, another tenant's ids, paths that are missing, a directory or
binary; numbers: NaN, infinities, -1, huge; paths: what the option cannot read; the
tests run as root, for whom no file is unreadable, so a directory stands for one). A new
option is covered without editing this file. Each case runs the command with valid values
for everything else (:data:`BASELINES`) and must end with exit code 1 or 2, one ``error:``
line on stderr, no traceback, no secret and no row written.

Commands that would start a server (capture, venue, dagster) run with a baseline that
fails late, after the options are used and before anything starts: the case must fail
with a line of its own, not the baseline's (a hostile value that got through would end in
the baseline's failure). ``test_cli_hostile_baseline_*`` checks every baseline.
"""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import typer
from typer.core import TyperArgument, TyperGroup

from daemons.cli.main import app
from daemons.db import accounts
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from tests.daemons.marketdata.trade_files import bybit_lines, write
from tests.fixtures.cli import gridbot, operator_stderr_lines, row_counts
from tests.fixtures.postgres import PgTestServer
from tests.fixtures.secrets import make_master_key, make_secret_text
from tests.fixtures.tenants import make_tenant, make_user

# -- what is hostile, per type ----------------------------------------------------------------

TEXT = ("empty", "10k", "control", "markup")
NAMES = ("other-user-id", "other-account-id")
FILES = ("missing", "directory", "binary")
NUMBERS = ("nan", "inf", "-inf", "-1", "huge")


def _annotation(param) -> type:
    """The parameter's value type (``list[str]`` -> ``str``)."""
    annotation = param.type_descriptor.annotation
    args = typing.get_args(annotation)
    return args[0] if typing.get_origin(annotation) is list and args else annotation


#: String parameters that are no tenant's name, so a UUID is a fine value for them.
NOT_A_NAME = {
    "api_key": "an exchange's API key id may have a UUID's shape",
    "host": "a UUID is a valid host name (a non-loopback one is refused for other reasons)",
    "daemon_id": "a trading daemon's label names no tenant row: a UUID is a fine label",
}


def hostile_kinds(param) -> tuple[str, ...]:
    """The hostile values a parameter of this type must refuse."""
    kind = _annotation(param)
    if kind in (int, float, Decimal):
        return TEXT + NUMBERS
    if kind is UUID:
        return (*TEXT, "unknown-id")
    if isinstance(kind, type) and issubclass(kind, Path):
        if param.type_descriptor.parameter_info.file_okay:
            return TEXT + FILES
        # A directory to create: missing, existing or oddly named are all fine.
        return ("empty", "10k", "control", "binary")
    return TEXT + FILES + (() if param.name in NOT_A_NAME else NAMES)


def value_of(kind: str, param, world: World) -> str:
    huge = "1" + "0" * 30 if _annotation(param) is int else "1e308"
    return {
        "empty": "", "10k": "a" * 10_000, "control": "x\x1b[31mred\x07",
        "markup": "[/][link=https://evil.example]x[/link]",
        "other-user-id": str(world.bob_user_id), "other-account-id": str(world.bob_account_id),
        "missing": str(world.files / "missing" / "x.csv"), "directory": str(world.files),
        "binary": str(world.files / "binary.csv"), "unknown-id": str(uuid4()),
        "nan": "nan", "inf": "inf", "-inf": "-inf", "-1": "-1", "huge": huge,
    }[kind]


# -- the commands and their valid values -------------------------------------------------------

def collect_commands() -> dict[tuple[str, ...], object]:
    """Every runnable command by its path (a group that runs on its own counts too)."""
    found: dict[tuple[str, ...], object] = {}

    def walk(command, path: tuple[str, ...]) -> None:
        if isinstance(command, TyperGroup):
            if path and command.invoke_without_command:
                found[path] = command
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found[path] = command

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = collect_commands()

#: Valid values for each command (``{name}`` fields come from :class:`World`); a flag is True.
BASELINES: dict[tuple[str, ...], dict[str, str | bool]] = {
    ("demo",): {"home": "{files}"},
    ("backtest",): {"source": "{trades}", "no_store": True},
    ("venue",): {"accounts": "{venue_accounts}", "port": "{busy_port}"},
    ("db", "partitions"): {"months_ahead": "1"},
    ("users", "add"): {"username": "dave", "email": "dave@example.com"},
    ("users", "edit"): {"username": "alice", "email": "alice2@example.com"},
    ("users", "disable"): {"username": "alice"},
    ("users", "enable"): {"username": "alice"},
    ("accounts", "add"): {"name": "side", "user": "alice", "environment": "testnet"},
    ("accounts", "list"): {"user": "alice"},
    ("accounts", "disable"): {"account": "main", "user": "alice"},
    ("accounts", "enable"): {"account": "main", "user": "alice"},
    ("credentials", "add"): {"account": "spare", "user": "carol", "api_key": "CK1"},
    ("credentials", "rotate"): {"account": "main", "user": "alice", "api_key": "AK2",
                                "grace_hours": "1"},
    ("credentials", "list"): {"account": "main", "user": "alice"},
    ("strategies", "add"): {"account": "main", "user": "alice", "symbol": "ETHUSDT",
                            "assignments": "amount=0.01"},
    ("strategies", "list"): {"account": "main", "user": "alice"},
    ("strategies", "disable"): {"strategy_id": "{alice_strategy}"},
    ("strategies", "enable"): {"strategy_id": "{alice_strategy}"},
    ("strategies", "mode"): {"strategy_id": "{alice_strategy}", "new_mode": "shadow"},
    ("strategies", "caps"): {"strategy_id": "{alice_strategy}", "max_open_orders": "5",
                             "max_position_notional": "1000", "max_session_loss": "50"},
    ("strategies", "clear-latch"): {"strategy_id": "{alice_strategy}"},
    ("capture",): {"environment": "local", "venue_url": "http://127.0.0.1:9"},
    ("trade",): {"environment": "local", "venue_url": "http://127.0.0.1:9"},
    ("calibrate", "run"): {"user": "alice", "run_text": "{alice_run}"},
    ("calibrate", "list"): {"user": "alice"},
    ("compare",): {"user": "alice", "run": "{alice_run}"},
    ("reports", "list"): {"user": "alice"},
}
#: A hostile value of these parameters replaces the baseline's values of the others listed.
EXCLUSIVE = {"account_id": ("account",)}
#: Commands whose baseline fails late (nothing to capture or trade, the port is taken, the database
#: is unreachable, a run without a snapshot to replay from), so that nothing starts whatever the
#: hostile value.
LATE_FAILURE = {("capture",), ("trade",), ("venue",), ("dagster",), ("compare",),
                ("calibrate", "run"), ("demo",)}
#: Parameters left out: any new directory is a valid demo home (the demo would run), and
#: the demo's refusal of a foreign one is tested in tests/daemons/demo.
NOT_PROBED = {("demo", "home")}



@dataclass(frozen=True)
class Case:
    path: tuple[str, ...]
    param: str
    kind: str

    def __str__(self) -> str:
        return f"{' '.join(self.path)}-{self.param}-{self.kind}"


def collect_cases() -> list:
    cases = []
    for path, command in COMMANDS.items():
        for param in command.params:
            if getattr(param, "is_flag", False) or (*path, param.name) in NOT_PROBED:
                continue
            for kind in hostile_kinds(param):
                case = Case(path, param.name, kind)
                cases.append(pytest.param(case, id=str(case)))
    return cases


# -- the world the commands run in --------------------------------------------------------------

@dataclass
class World:
    db: Database
    files: Path
    bob_user_id: UUID
    bob_account_id: UUID
    fields: dict[str, str]
    secrets: list[str]
    env: dict[str, str]


def build_world(db: Database, files: Path, busy_port: int) -> World:
    """alice and bob (account main, a credential, a strategy, a run), carol with an account
    without credential; input files; the master key in the environment."""
    key = make_master_key()
    keyring = Keyring.of(key)
    alice, bob = (make_tenant(db, keyring, name, events=False) for name in ("alice", "bob"))
    carol = make_user(db, "carol")
    with db.unit_of_work(carol) as conn:
        accounts.add_account(conn, carol, "spare", "testnet")
    files.mkdir(parents=True, exist_ok=True)
    (files / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10)
    venue_secret = make_secret_text()
    (files / "accounts.yaml").write_text(
        f"- {{name: a, api_key: k1, api_secret: {venue_secret}, usdt: '5000'}}\n")
    trades = write(files / "trades.csv", bybit_lines(200))
    fields = {"trades": str(trades), "venue_accounts": str(files / "accounts.yaml"),
              "files": str(files),
              "busy_port": str(busy_port), "alice_strategy": str(alice.strategy_id),
              "alice_run": str(alice.run_id)}
    return World(db, files, bob.user_id, bob.account_id, fields,
                 [key.encode(), alice.secret, bob.secret, venue_secret],
                 {"GRIDBOT_MASTER_KEY": key.encode()})


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    """A loopback port something already listens on: the venue cannot start there."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _environment(pg_server: PgTestServer, name: str, home: Path) -> dict[str, str]:
    return {"DATABASE_URL": pg_server.admin_url(name),
            "GRIDBOT_APP_DATABASE_URL": pg_server.app_url(name), "GRIDBOT_HOME": str(home)}


@pytest.fixture(scope="module")
def world(pg_server: PgTestServer, busy_port: int) -> Iterator[World]:
    """One populated database for every case of this worker: a case writes nothing."""
    name = pg_server.create_database()
    root = Path(tempfile.mkdtemp(prefix="gridbot-hostile-"))
    db = Database(pg_server.admin_url(name), pg_server.app_url(name))
    try:
        built = build_world(db, root / "files", busy_port)
        built.env.update(_environment(pg_server, name, root / "home"))
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("GRIDBOT_KEY_DIR", raising=False)
            for variable, value in built.env.items():
                patch.setenv(variable, value)
            yield built
    finally:
        db.close()
        pg_server.drop_database(name)
        shutil.rmtree(root, ignore_errors=True)


# -- running a command ----------------------------------------------------------------------------

def argv(path: tuple[str, ...], world: World, target: str | None = None,
         value: str | None = None) -> list[str]:
    """The command line: the baseline's values, ``target`` set to ``value``."""
    baseline = dict(BASELINES.get(path, {}))
    for dropped in EXCLUSIVE.get(target or "", ()):
        baseline.pop(dropped, None)
    args = list(path)
    for param in COMMANDS[path].params:
        given = value if param.name == target else baseline.get(param.name)
        if given is None or given is False:
            continue
        if isinstance(param, TyperArgument):
            args.append(str(given).format(**world.fields))
        elif given is True:
            args.append(param.opts[0])
        else:
            args += [param.opts[0], str(given).format(**world.fields)]
    return args


def run(path: tuple[str, ...], args: list[str], world: World, pg_server: PgTestServer,
        monkeypatch: pytest.MonkeyPatch):
    """Run in this process; signal handlers a command installs are put back after."""
    if path == ("dagster",):  # an unreachable database: Dagster never starts
        monkeypatch.setenv("DATABASE_URL", pg_server.admin_url("gridbot_no_such_database"))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM,
                                                       signal.SIGHUP)}
    try:
        return gridbot(*args, stdin=make_secret_text() + "\n")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def one_error_line(result, world: World) -> str:
    """The run's single ``error:`` line, after checking the shape every refusal has."""
    lines = operator_stderr_lines(result.stderr)
    assert result.exit_code in (1, 2), result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert not [s for s in world.secrets if s in result.output], "a secret was printed"
    return lines[0]


_baseline_lines: dict[tuple[str, ...], str] = {}


def baseline_line(path: tuple[str, ...], world: World, pg_server: PgTestServer,
                  monkeypatch: pytest.MonkeyPatch) -> str:
    if path not in _baseline_lines:
        result = run(path, argv(path, world), world, pg_server, monkeypatch)
        _baseline_lines[path] = one_error_line(result, world)
    return _baseline_lines[path]


@pytest.mark.parametrize("case", collect_cases())
def test_cli_hostile_value_is_refused_in_one_line_writing_nothing(
        world: World, pg_server: PgTestServer, monkeypatch: pytest.MonkeyPatch,
        case: Case) -> None:
    param = next(p for p in COMMANDS[case.path].params if p.name == case.param)
    args = argv(case.path, world, case.param, value_of(case.kind, param, world))
    before = row_counts(world.db)
    line = one_error_line(run(case.path, args, world, pg_server, monkeypatch), world)
    if case.path in LATE_FAILURE:
        assert line != baseline_line(case.path, world, pg_server, monkeypatch), \
            "the hostile value got through to where the baseline fails"
    assert row_counts(world.db) == before


# -- the baselines themselves ---------------------------------------------------------------------

@pytest.fixture
def fresh_world(pg_server: PgTestServer, db: Database, db_name: str, busy_port: int,
                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    built = build_world(db, tmp_path / "files", busy_port)
    built.env.update(_environment(pg_server, db_name, tmp_path / "home"))
    monkeypatch.delenv("GRIDBOT_KEY_DIR", raising=False)
    for variable, value in built.env.items():
        monkeypatch.setenv(variable, value)
    return built


CHECKED = sorted(path for path, command in COMMANDS.items()
                 if path not in LATE_FAILURE and any(
                     not getattr(p, "is_flag", False) for p in command.params))


@pytest.mark.parametrize("path", CHECKED, ids=[" ".join(p) for p in CHECKED])
def test_cli_hostile_baseline_is_accepted(fresh_world: World, pg_server: PgTestServer,
                                          monkeypatch: pytest.MonkeyPatch,
                                          path: tuple[str, ...]) -> None:
    """Each case changes one value of a command line that works: a refusal is the
    hostile value's doing."""
    result = run(path, argv(path, fresh_world), fresh_world, pg_server, monkeypatch)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("path", sorted(LATE_FAILURE), ids=[" ".join(p) for p in
                                                             sorted(LATE_FAILURE)])
def test_cli_hostile_baseline_of_a_server_fails_before_starting(
        world: World, pg_server: PgTestServer, monkeypatch: pytest.MonkeyPatch,
        path: tuple[str, ...]) -> None:
    line = baseline_line(path, world, pg_server, monkeypatch)
    assert any(reason in line for reason in (
        "nothing to capture", "nothing to trade", "address already in use",
        "database unavailable", "nothing to replay from", "not a demo directory")), line

