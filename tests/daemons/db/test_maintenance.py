"""Scheduled upkeep (partitions kept ahead, rotated credentials purged) and the set-role warning.

The CLI's side (`db migrate`, `db status`, `credentials purge`) is tested in test_cli.py.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemons.db import credentials, maintenance, partitions, session
from daemons.db.session import Database
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import Keyring
from tests.fixtures.postgres import PgTestServer
from tests.fixtures.secrets import make_secret_text
from tests.fixtures.tenants import make_tenant

LATER = datetime(2031, 3, 15, tzinfo=UTC)


def test_upkeep_creates_coming_months_once_and_purges_expired_credentials(
        db: Database, keyring: Keyring) -> None:
    tenant = make_tenant(db, keyring, "uma", events=False)
    with db.unit_of_work(tenant.user_id) as conn:
        credentials.rotate_credential(conn, keyring, tenant.account_id, "UK2",
                                      Secret(make_secret_text()), timedelta(days=30))
    with db.admin() as conn:
        first = maintenance.upkeep(conn, months_ahead=2, now=LATER)
        again = maintenance.upkeep(conn, months_ahead=2, now=LATER)
        missing = partitions.missing_partitions(conn, months_ahead=2, now=LATER)
        left = [c.api_key_id for c in credentials.list_credentials(conn)]
    assert ("public_trades", "public_trades_p2031_05") in first.created
    assert first.purged_credentials == 1 and left == ["UK2"]
    assert again == maintenance.UpkeepReport(created=[], purged_credentials=0, strays=[])
    assert missing == []


def test_missing_partitions_names_what_ensure_would_create(db: Database) -> None:
    with db.admin() as conn:
        missing = partitions.missing_partitions(conn, months_ahead=1, now=LATER)
        created = partitions.ensure_partitions(conn, months_ahead=1, now=LATER)
    assert ("tickers", "tickers_p2031_04") in missing
    assert sorted(missing) == sorted(created)


def _drop_next_month(db: Database, table: str) -> str:
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    name = f"{table}_p{year}_{month:02d}"
    with db.admin() as conn:
        conn.execute(f"DROP TABLE {name}")
    return name


def test_database_upkeep_logs_what_it_created(db: Database,
                                              caplog: pytest.LogCaptureFixture) -> None:
    gone = _drop_next_month(db, "wallets")
    with caplog.at_level(logging.INFO, logger="daemons.db.maintenance"):
        db.upkeep()
    assert f"created partition {gone}" in caplog.messages
    with db.admin() as conn:
        assert partitions.missing_partitions(conn, maintenance.MONTHS_AHEAD) == []


def test_capture_daemon_start_creates_next_months_partition(db: Database,
                                                            tmp_path: Path) -> None:
    from daemons.bybit.endpoints import endpoints_for
    from daemons.capture.daemon import CaptureDaemon
    from daemons.db.targets import Targets

    gone = _drop_next_month(db, "public_trades")
    daemon = CaptureDaemon(db, endpoints_for("local", "http://127.0.0.1:9"), Targets((), ()),
                           tmp_path)
    daemon.start()
    daemon.stop()
    with db.admin() as conn:
        assert gone in partitions.list_partitions(conn, "public_trades")


@pytest.mark.parametrize("app_login", [False, True], ids=["set-role", "separate-login"])
def test_database_url_without_app_login_warns_once(
        pg_server: PgTestServer, db_name: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, app_login: bool) -> None:
    session._warn_set_role_once.cache_clear()  # once per process: start this test afresh
    monkeypatch.setenv("DATABASE_URL", pg_server.admin_url(db_name))
    if app_login:
        monkeypatch.setenv("GRIDBOT_APP_DATABASE_URL", pg_server.app_url(db_name))
    else:
        monkeypatch.delenv("GRIDBOT_APP_DATABASE_URL", raising=False)
    with caplog.at_level(logging.WARNING, logger="daemons.db.session"):
        for _ in range(2):
            Database.from_settings().close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "daemons.db.session"]
    if app_login:
        assert warnings == []
    else:
        assert len(warnings) == 1 and "only SET LOCAL ROLE gridbot_app separates" in warnings[0]
        assert pg_server.admin_url(db_name) not in warnings[0]
