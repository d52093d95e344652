"""Connections and units of work: tenant-scoped by default, admin only when asked for.

Two kinds of access, kept apart on purpose:

* :meth:`Database.unit_of_work` (``with db.unit_of_work(user_id) as conn``): one
  transaction as the application role ``gridbot_app``, with ``gridbot.user_id`` set by
  ``SET LOCAL`` for that transaction only. Row-level security then shows and accepts only
  that user's rows. The daemons, which serve many users, open one unit of work per user
  or account. :meth:`Database.market_data` is the same without a user: shared market data
  only, every tenant table empty.
* :meth:`Database.admin` (``with db.admin() as conn``): one transaction as the tables'
  owner, which row-level security does not restrict. For migrations, partition
  maintenance, key rotation and operator commands that must see every user
  (``gridbot users list``). Nothing on a request path of a daemon should use it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import psycopg

from daemons.db.errors import InsecureConnection, NotMigrated
from daemons.db.settings import APP_ROLE, EMBEDDED_DATABASE, DbSettings, load_settings

log = logging.getLogger(__name__)

_USER_SETTING = "gridbot.user_id"
_MAX_IDLE = 4


class Database:
    """The project's database: an owner URL and an application-role URL.

    Parameters
    ----------
    admin_url:
        Connection string of the tables' owner (migrations, maintenance, admin context).
    app_url:
        Connection string that logs in as ``gridbot_app``. None: connect with
        ``admin_url`` and ``SET LOCAL ROLE gridbot_app`` in every unit of work.
    """

    def __init__(self, admin_url: str, app_url: str | None = None) -> None:
        self._admin_url = admin_url
        self._app_url = app_url
        self._idle: dict[str, list[psycopg.Connection]] = {"admin": [], "app": []}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # the URLs may hold passwords
        return f"Database(app_login={'separate' if self._app_url else 'set-role'})"

    @classmethod
    def from_settings(cls, settings: DbSettings | None = None) -> Database:
        """Connect as the environment says; start the embedded server if it is the one."""
        settings = settings or load_settings()
        if not settings.embedded:
            if settings.app_database_url is None:
                _warn_set_role_once()
            return cls(settings.database_url, settings.app_database_url)  # type: ignore[arg-type]
        from daemons.db.embedded import EmbeddedServer

        info = EmbeddedServer(settings.home).ensure_running()
        ensure_database(info.url("postgres"), EMBEDDED_DATABASE)
        return cls(info.url(EMBEDDED_DATABASE), info.url(EMBEDDED_DATABASE, APP_ROLE))

    @property
    def app_login_url(self) -> str:
        """A connection string for work that needs no table privilege (advisory locks)."""
        return self._app_url or self._admin_url

    @property
    def admin_url(self) -> str:
        """The owner's connection string (for tools such as Dagster's storage)."""
        return self._admin_url

    # -- units of work ----------------------------------------------------------------

    @contextmanager
    def unit_of_work(self, user_id: UUID | str) -> Iterator[psycopg.Connection]:
        """One transaction as ``gridbot_app`` that sees only ``user_id``'s rows."""
        tenant = str(UUID(str(user_id)))
        with self._app_transaction() as conn:
            conn.execute("SELECT set_config(%s, %s, true)", [_USER_SETTING, tenant])
            yield conn

    @contextmanager
    def market_data(self) -> Iterator[psycopg.Connection]:
        """One transaction as ``gridbot_app`` with no user: shared market data only."""
        with self._app_transaction() as conn:
            # Explicitly no tenant, even if code on this pooled connection ran a plain SET.
            conn.execute("SELECT set_config(%s, '', true)", [_USER_SETTING])
            yield conn

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection]:
        """One transaction as the owner: sees every tenant. Operator and maintenance only."""
        with self._borrow("admin") as conn, conn.transaction():
            yield conn

    @contextmanager
    def admin_autocommit(self) -> Iterator[psycopg.Connection]:
        """An owner connection outside any transaction (migrations manage their own)."""
        with self._borrow("admin") as conn:
            yield conn

    def upkeep(self) -> None:
        """Keep partitions ahead and purge expired rotated credentials, as the owner; log it.

        For daemons at start (capture), so that a long-running installation does not
        depend on an operator remembering maintenance (``daemons.db.maintenance``).
        """
        from daemons.db import maintenance

        with self.admin() as conn:
            report = maintenance.upkeep(conn)
        maintenance.log_report(report)

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            for pool in self._idle.values():
                while pool:
                    pool.pop().close()

    # -- internals --------------------------------------------------------------------

    @contextmanager
    def _app_transaction(self) -> Iterator[psycopg.Connection]:
        with self._borrow("app") as conn, conn.transaction():
            if self._app_url is None:
                conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
            yield conn

    @contextmanager
    def _borrow(self, kind: str) -> Iterator[psycopg.Connection]:
        conn = self._idle_alive(kind) or self._connect(kind)
        try:
            yield conn
        finally:
            reusable = not conn.closed and conn.info.transaction_status == \
                psycopg.pq.TransactionStatus.IDLE
            with self._lock:
                if reusable and len(self._idle[kind]) < _MAX_IDLE:
                    self._idle[kind].append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def _idle_alive(self, kind: str) -> psycopg.Connection | None:
        """An idle connection that still answers, or None; the dead ones are closed.

        A server restart (or an administrator's ``pg_terminate_backend``) kills idle
        connections without the client noticing until it next speaks, so each one is
        checked before it is lent, as psycopg_pool's ``check_connection`` does: one empty
        query, a round trip that costs far less than the failed command it prevents (a
        capture refresh that would otherwise wait a whole interval).
        """
        while True:
            with self._lock:
                if not self._idle[kind]:
                    return None
                conn = self._idle[kind].pop()
            try:
                conn.execute("")
                return conn
            except psycopg.Error as e:
                log.debug("dropped a dead pooled %s connection (%s)", kind, type(e).__name__)
                conn.close()

    def _connect(self, kind: str) -> psycopg.Connection:
        url = self._app_url if kind == "app" and self._app_url else self._admin_url
        try:
            conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as e:
            if kind == "app" and f'role "{APP_ROLE}" does not exist' in str(e):
                raise NotMigrated(
                    "the database is not migrated: run `gridbot db migrate`") from None
            raise
        if kind == "app" and self._app_url is not None:
            _refuse_privileged(conn)
        return conn


@functools.cache
def _warn_set_role_once() -> None:
    """Say once per process that tenants are separated only by ``SET LOCAL ROLE``.

    Without ``GRIDBOT_APP_DATABASE_URL`` the application's connections log in as the
    ``DATABASE_URL`` owner (often a superuser): row-level security still applies after
    the ``SET LOCAL ROLE``, but any code on that connection could ``RESET ROLE`` and see
    every tenant. Operators must know they chose that.
    """
    log.warning(
        "GRIDBOT_APP_DATABASE_URL is not set: the application connects as the DATABASE_URL "
        "owner and only SET LOCAL ROLE %s separates tenants (code that ran RESET ROLE would "
        "see every user's rows); set GRIDBOT_APP_DATABASE_URL to a login as %s "
        "(docs/database.md, Roles)", APP_ROLE, APP_ROLE)


def _refuse_privileged(conn: psycopg.Connection) -> None:
    """The application must never connect as a role that row-level security ignores."""
    row = conn.execute(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if row is None or row[0]:
        conn.close()
        raise InsecureConnection(
            "the application connection's role bypasses row-level security; "
            f"it must log in as {APP_ROLE}")


def ensure_database(maintenance_url: str, name: str) -> None:
    """Create database ``name`` on the server of ``maintenance_url`` if it is missing."""
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            try:
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(
                    psycopg.sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another command created it first


def require_migrated(db: Database) -> None:
    """Raise :class:`NotMigrated` unless every migration file is applied."""
    from daemons.db import migrations

    with db.admin() as conn:
        waiting = migrations.pending(conn)
    if waiting:
        raise NotMigrated(
            f"{len(waiting)} migration(s) pending (first: {waiting[0].version:04d}_"
            f"{waiting[0].name}): run `gridbot db migrate`")


def sqlalchemy_url(url: str, driver: str = "psycopg2") -> str:
    """The same connection string with the driver named, as SQLAlchemy and Dagster want it.

    Dagster's PostgreSQL storage builds psycopg2 URLs; ``Database.from_settings().admin_url``
    passed through this gives it the embedded server (or ``DATABASE_URL``).
    """
    _, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("not a URL")
    return f"postgresql+{driver}://{rest}"
