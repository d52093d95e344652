"""Dagster resources: gridbot's database and the Bybit REST clients of its accounts.

Both are found the way every gridbot command finds them, so plain ``dagster dev`` works
after the README's set-up as well as ``gridbot dagster`` does: the database is
``DATABASE_URL``'s server or the embedded one under ``GRIDBOT_HOME`` (started when it is
not running), the exchange is the configured environment. No resource holds a secret in
its configuration: an account's credential is decrypted inside the run that needs it,
with the keys of the key directory (docs/secrets.md).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import dagster as dg
import sqlalchemy as sa
from pydantic import PrivateAttr

from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.rest import BybitRest
from daemons.db.session import Database, require_migrated, sqlalchemy_url
from daemons.db.settings import APP_ROLE
from daemons.db.targets import AccountTarget, Targets


class DatabaseResource(dg.ConfigurableResource):
    """gridbot's PostgreSQL: the data layer (psycopg) and SQLAlchemy engines for frames.

    ``pandas.read_sql`` wants a SQLAlchemy connection: :meth:`frames` gives one in the
    application role, scoped like :meth:`Database.unit_of_work` (one user's rows) or
    :meth:`Database.market_data` (shared market data only); :meth:`admin_frames` the
    owner's, for maintenance and reports across users.
    """

    _db: Database | None = PrivateAttr(default=None)
    _engines: dict[str, sa.Engine] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._db = Database.from_settings()
        require_migrated(self._db)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        if self._db is not None:
            self._db.close()

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("DatabaseResource used outside a run")
        return self._db

    def _engine(self, kind: str) -> sa.Engine:
        if kind not in self._engines:
            url = self.db.admin_url if kind == "admin" else self.db.app_login_url
            self._engines[kind] = sa.create_engine(sqlalchemy_url(url, "psycopg"),
                                                   pool_pre_ping=True)
        return self._engines[kind]

    @contextmanager
    def frames(self, user_id: UUID | None = None) -> Iterator[sa.Connection]:
        """One read transaction as ``gridbot_app``: ``user_id``'s rows, or none (market)."""
        with self._engine("app").begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL ROLE {APP_ROLE}")
            conn.execute(sa.text("SELECT set_config('gridbot.user_id', :user, true)"),
                         {"user": "" if user_id is None else str(UUID(str(user_id)))})
            yield conn

    @contextmanager
    def admin_frames(self) -> Iterator[sa.Connection]:
        """One transaction as the tables' owner (every user; the archive schema)."""
        with self._engine("admin").begin() as conn:
            yield conn


#: The environment scheduled runs serve (the launchpad can set another per run).
ENVIRONMENT_ENV = "GRIDBOT_BYBIT_ENVIRONMENT"


class BybitResource(dg.ConfigurableResource):
    """The exchange of one environment: ``local`` (the project's venue at ``venue_url`` or
    ``GRIDBOT_LOCAL_VENUE_URL``), ``testnet`` or ``mainnet``; set in the launchpad."""

    environment: str = "local"
    venue_url: str | None = None

    def market(self) -> BybitRest:
        """A client of the public endpoints."""
        return BybitRest(endpoints_for(self.environment, self.venue_url))

    def client(self, target: AccountTarget) -> BybitRest:
        """A client signing with ``target``'s credential (held in memory by pybit only)."""
        return BybitRest(endpoints_for(self.environment, self.venue_url), target.api_key,
                         target.secret)

    def accounts(self, db: Database) -> Targets:
        """The environment's enabled accounts with their credentials decrypted, in memory.

        The keys come from the key directory, read now, inside the run
        (:func:`daemons.db.keyring.open_key_directory`); nothing is cached across runs.
        Without a key and without any stored credential there is no account to serve.
        """
        from daemons.db.keyring import open_key_directory
        from daemons.db.settings import gridbot_home
        from daemons.db.targets import discover
        from daemons.secrets.keys import NoMasterKey

        try:
            keyring = open_key_directory(db, gridbot_home())
        except NoMasterKey:  # raised only while the database holds no credential
            return Targets((), ())
        return discover(db, keyring, self.environment)


def bybit_from_environment() -> BybitResource:
    """The deployment's exchange: ``GRIDBOT_BYBIT_ENVIRONMENT`` (default ``local``), as
    ``gridbot capture --environment`` serves one environment per deployment."""
    return BybitResource(environment=os.environ.get(ENVIRONMENT_ENV) or "local")
