"""The backtest request (daemons/backtest/request.py): the one function the CLI, the
Dagster assets and the comparison call. Here without the command line."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from daemons.backtest.request import BacktestRequest, prepare, run_request
from daemons.backtest.runner import BacktestInputError
from daemons.cli.main import app
from daemons.db.session import Database

HOUR = ("2024-01-01T00:00", 1_704_067_200_000, 1_704_070_800_000)


def test_request_generated_hour_gives_the_clis_digest() -> None:
    """The CLI is a thin caller: the same request gives the same run either way."""
    outcome = run_request(BacktestRequest(
        source="generated", overrides={"grid_step": "0.05", "amount": "0.002"},
        start_ms=HOUR[1], end_ms=HOUR[2], latency_ms=20, maker_fee=Decimal("0.0001")), None)
    cli = CliRunner().invoke(app, [
        "backtest", "--source", "generated", "--set", "grid_step=0.05", "--set",
        "amount=0.002", "--from", HOUR[0], "--to", str(HOUR[2]), "--latency-ms", "20",
        "--maker-fee", "0.0001", "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["digest"] == outcome.summary["digest"]
    assert outcome.run_id is None and outcome.summary["fills"] > 0


def test_request_file_source_knows_its_event_total_before_replaying() -> None:
    prepared = prepare(BacktestRequest(source="generated", start_ms=HOUR[1],
                                       end_ms=HOUR[2]), None)
    seen: list[int] = []
    outcome = prepared.run(seen.append)
    assert prepared.total == outcome.summary["events"] == seen[-1]


@pytest.mark.parametrize(("request_", "message"), [
    (dict(seed_run="r", symbol="ETHUSDT"), "--seed-run with --symbol"),
    (dict(strategy_id=1, parameters={"amount": "0.01"}), "--strategy with --config"),
])
def test_request_conflicting_fields_are_refused_when_made(request_: dict,
                                                          message: str) -> None:
    with pytest.raises(BacktestInputError, match=message):
        BacktestRequest(**request_)


def test_request_needing_the_database_without_one_is_refused() -> None:
    request = BacktestRequest(strategy_id=1)
    assert request.needs_database and request.data_source == "db"
    with pytest.raises(ValueError, match="reads the database"):
        prepare(request, None)


def test_request_for_another_users_strategy_is_refused(db: Database, keyring) -> None:
    from tests.fixtures.tenants import make_tenant

    alice = make_tenant(db, keyring, "alice", events=False)
    make_tenant(db, keyring, "bob", events=False)
    with pytest.raises(BacktestInputError, match="does not belong to user 'bob'"):
        prepare(BacktestRequest(strategy_id=alice.strategy_id, user="bob"), db)
