"""The demo, stage by stage: the whole system on the embedded defaults.

Every stage uses the commands a user would type (``gridbot db migrate``, ``users add``,
``credentials add`` with the secret on stdin, ``venue``, ``capture``, ``trade``, Dagster's
``job execute``) as child processes of this one, so the demo shows the product as it is
used and proves that its parts work together, not a shortcut through them. What the demo
does itself is only what a user would do by hand: wait, look at the database, and (asked
to) inject a fault.

Stages: a fresh demo directory with its own embedded PostgreSQL and master key; the local
venue on the bundled real bars (four symbols); two users with two accounts each and
their strategies (one account in shadow); capture and trading over a few minutes of
accelerated market; the injected divergence; Dagster's nightly validation of the day
(reconciliation, backtests with every fill model, calibration, comparison, report); the
verdicts. The venue and the server outlive the trading until Dagster is done
(reconciliation asks the venue); with ``ui`` the Dagster UI stays up until interrupted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from daemons.dagster_env import dagster_environment
from daemons.db.session import Database
from daemons.db.settings import DbSettings
from daemons.demo import cast as demo_cast
from daemons.demo.children import Child, ChildFailed, Children
from daemons.demo.divergence import assume_another_grid_step
from daemons.demo.home import demo_environment, fresh_home, stop_server
from daemons.demo.pipeline import run_validation_job
from daemons.demo.verdict import RunVerdict, load_verdicts, report_paths, write_verdicts

SYMBOLS = ",".join(dict.fromkeys(a.symbol for a in demo_cast.CAST))
#: Wall seconds between engine snapshots: a comparison replays from a snapshot, so a
#: few minutes of trading need them more often than a live deployment's default.
SNAPSHOT_INTERVAL_S = 5.0
#: The venue's median order latency: a loopback venue answers in about a millisecond. Each
#: order's latency is drawn around it, a replay uses the measured median: the wider the
#: draws, the more often a print lands between the two arrivals (a fill one side has and
#: the other has not, the grids parting from there on).
VENUE_LATENCY_MS = 2.0
# The venue's book holds no hidden size ahead of a new order (``--depth-median-qty 0``):
# a print at an order's price fills it, the market CONSERVATIVE models. On the venue's
# default book a touch fills only once the queue ahead is traded, later than CONSERVATIVE
# assumes: that market is what QUEUE, calibrated each night, is for (docs/demo.md).
_VENUE_URL = re.compile(r"^venue REST\s+(http://\S+)$")
_STRATEGY_ID = re.compile(r"^strategy (\d+) added")


class Reporter(Protocol):
    """Where the demo says which stage it is in and how far it got."""

    def stage(self, title: str, total: float | None = None) -> None: ...

    def update(self, completed: float, detail: str = "") -> None: ...


@dataclass(frozen=True)
class DemoOptions:
    home: Path
    #: Wall seconds of trading.
    trade_s: float = 120.0
    #: Market seconds per wall second of the venue's tape.
    speed: float = 8.0
    #: Make one account's replay assume another grid step than its live engine used.
    inject_divergence: bool = True
    #: Leave the Dagster UI running (until interrupted) with everything materialised.
    ui: bool = False
    ui_port: int = 3000


@dataclass
class DemoResult:
    home: Path
    days: list[str]
    verdicts: list[RunVerdict] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    divergent: str | None = None
    ui_url: str | None = None
    logs: Path | None = None


class Demo:
    """One demo run; ``children`` are stopped however it ends (see :meth:`run`)."""

    def __init__(self, options: DemoOptions, reporter: Reporter) -> None:
        self.options = options
        self.report = reporter
        self.home = fresh_home(options.home)
        self.children = Children(self.home / "logs", demo_environment(self.home))
        self.db: Database | None = None

    def run(self, wait_for_ui: Callable[[str], None] | None = None) -> DemoResult:
        """Every stage; with ``options.ui`` and ``wait_for_ui``, the UI stays up until it
        returns. Every child and the embedded server are stopped before this returns."""
        try:
            result = self._stages()
            if self.options.ui and wait_for_ui is not None:
                result.ui_url = self._start_ui()
                wait_for_ui(result.ui_url)
            return result
        finally:
            self.children.stop_all()
            if self.db is not None:
                self.db.close()
            stop_server(self.home)

    def _stages(self) -> DemoResult:
        self._database()
        venue = self._venue()
        strategies = self._tenants(venue)
        started = datetime.now(UTC)
        self._trade(venue, strategies)
        divergent = None
        if self.options.inject_divergence:
            self.report.stage("injecting the divergence")
            divergent = demo_cast.DIVERGENT.label
            assume_another_grid_step(self._db(), demo_cast.DIVERGENT.user,
                                     demo_cast.DIVERGENT.symbol)
        days = _days(started.date(), datetime.now(UTC).date())
        for day in days:
            self._validate(day)
        self.children.stop(venue)
        verdicts = load_verdicts(self._db(), days)
        write_verdicts(self.home / "verdicts.json", verdicts)
        return DemoResult(self.home, days, verdicts, report_paths(self.home, days), divergent,
                          logs=self.home / "logs")

    # -- stages -------------------------------------------------------------------------

    def _database(self) -> None:
        self.report.stage("starting embedded PostgreSQL, migrating, creating the master key")
        self.children.run("db-migrate", ["db", "migrate"])
        self.children.run("keys-init", ["keys", "init"])
        self.db = Database.from_settings(DbSettings(self.home, None, None))

    def _venue(self) -> Child:
        self.report.stage(f"starting the local venue ({SYMBOLS}, bundled bars at "
                          f"{self.options.speed:g}x)")
        self.keys = demo_cast.write_venue_accounts(self.home / "venue-accounts.json")
        venue = self.children.start(
            "venue", ["venue", "--accounts", str(self.home / "venue-accounts.json"),
                      "--port", "0", "--tape", "bars", "--symbols", SYMBOLS,
                      "--speed", f"{self.options.speed:g}", "--latency-ms",
                      f"{VENUE_LATENCY_MS:g}", "--depth-median-qty", "0"], readable=True)
        for line in venue.follow(timeout_s=60):
            if match := _VENUE_URL.match(line):
                self.venue_url = match.group(1)
                self.children.env["GRIDBOT_LOCAL_VENUE_URL"] = self.venue_url
                return venue
        raise ChildFailed(f"the venue did not start; see {venue.log_path}")

    def _tenants(self, venue: Child) -> dict[str, int]:
        """Users, accounts, credentials and strategies through the CLI; strategy ids."""
        accounts = demo_cast.CAST
        self.report.stage("creating 2 users with 2 accounts each (one in shadow)",
                          total=len(accounts))
        for user in demo_cast.users():
            self.children.run("tenants", ["users", "add", user, "--email",
                                          f"{user}@demo.invalid"])
        strategies: dict[str, int] = {}
        for n, account in enumerate(accounts, start=1):
            key = self.keys[account.venue_name]
            self.children.run("tenants", ["accounts", "add", account.name, "--user",
                                          account.user, "--environment", "local"])
            self.children.run("tenants", ["credentials", "add", "--account", account.name,
                                          "--user", account.user, "--api-key", key.api_key],
                              stdin=key.api_secret + "\n")
            sets = [arg for k, v in account.grid.items() for arg in ("--set", f"{k}={v}")]
            out = self.children.run("tenants", ["strategies", "add", "--account", account.name,
                                                "--user", account.user, "--symbol",
                                                account.symbol, *sets])
            match = next(filter(None, map(_STRATEGY_ID.match, out.splitlines())), None)
            if match is None:
                raise ChildFailed(f"`strategies add` did not say which id it gave: {out!r}")
            strategies[account.label] = int(match.group(1))
            if account.mode != "live":
                self.children.run("tenants", ["strategies", "mode", match.group(1),
                                              account.mode])
            self.report.update(n, account.label)
        return strategies

    def _trade(self, venue: Child, strategies: dict[str, int]) -> None:
        url = ["--venue-url", self.venue_url]
        self.report.stage("capturing the market and the accounts")
        capture = self.children.start("capture", ["capture", *url])
        self._wait(lambda: self._count("SELECT count(*) FROM public_trades") > 0,
                   capture, "captured trades")
        self.report.stage(f"trading {len(strategies)} strategies", total=self.options.trade_s)
        trade = self.children.start("trade", ["trade", *url, "--snapshot-interval-s",
                                              f"{SNAPSHOT_INTERVAL_S:g}"])
        self._wait(lambda: self._count("SELECT count(*) FROM runs WHERE status = 'running'"
                                       " AND run_type <> 'backtest'") >= len(strategies),
                   trade, "every strategy running")
        begin = time.monotonic()
        while (elapsed := time.monotonic() - begin) < self.options.trade_s:
            for child in (venue, capture, trade):
                _alive(child)
            fills = self._count("SELECT count(*) FROM private_executions"
                                " WHERE exec_type = 'Trade'")
            trades = self._count("SELECT count(*) FROM public_trades")
            self.report.update(elapsed, f"{trades:,} market trades captured, {fills} fills")
            time.sleep(1.0)
        self.report.stage("stopping the trading daemon, then capture")
        self.children.stop(trade)
        time.sleep(2.0)  # the last private messages reach capture
        self.children.stop(capture)

    def _validate(self, day: str) -> None:
        self.report.stage(f"Dagster: validation_job for {day} (reconcile, backtests, "
                          "calibration, comparison, report)")
        env = dagster_environment(self._db(), self.home / "dagster")
        self.children.env.update(env)
        run_validation_job(self.children, day, on_step=self.report.update)

    def _start_ui(self) -> str:
        self.report.stage("starting the Dagster UI")
        self.children.start("dagster-ui", ["dagster", "--port", str(self.options.ui_port)])
        return f"http://127.0.0.1:{self.options.ui_port}"

    # -- helpers ------------------------------------------------------------------------

    def _db(self) -> Database:
        if self.db is None:
            raise RuntimeError("the demo's database is not started yet")
        return self.db

    def _count(self, sql: str) -> int:
        with self._db().admin() as conn:
            return int(conn.execute(sql).fetchone()[0])

    def _wait(self, ready: Callable[[], bool], child: Child, what: str,
              timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not ready():
            _alive(child)
            if time.monotonic() > deadline:
                raise ChildFailed(f"no {what} after {timeout_s:.0f} s; see {child.log_path}")
            time.sleep(0.5)


def _alive(child: Child) -> None:
    code = child.process.poll()
    if code is not None:
        raise ChildFailed(f"{child.name} exited (code {code}); see {child.log_path}")


def _days(first: date, last: date) -> list[str]:
    """The UTC days the session touched (two when it crossed midnight)."""
    return sorted({first.isoformat(), last.isoformat()})
