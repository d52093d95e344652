"""The comparison end to end on recorded sessions of the local venue (issue #13's proof).

One session (``session.py``: the venue, the trading daemon and the capture daemon in this
process, four accounts, about a minute of market at 8x) is recorded once for the module
and read by every test: the clean run against the seed targets, injected faults found and
named (an engine with another grid step than the replay assumes, a capture gap, a venue
holding one account's acknowledgements), a shadow run, the stored results under row-level
security, the command line and the watch.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from daemons.db.session import Database
from daemons.secrets.keys import Keyring, load_keyring
from daemons.trading.alerts import AlertSender
from daemons.validation import targets
from daemons.validation.check import CheckResult, run_comparison
from daemons.validation.compare import ModelComparison
from daemons.validation.reasons import Kind, Reason
from daemons.validation.watch import ALERT_KIND, WatchConfig, watch
from tests.daemons.trading.test_alerts import Receiver
from tests.daemons.validation.session import (
    ACK_DELAY_MS,
    Session,
    assume_grid_step,
    record_session,
)
from tests.fixtures.cli import gridbot, operator_stderr_lines
from tests.fixtures.postgres import PgTestServer

pytestmark = pytest.mark.xdist_group("validation-session")

#: What the tests assume trader3's engine ran with, where it really ran with 0.02 %.
ASSUMED_GRID_STEP = 0.03


@dataclass(frozen=True)
class Recorded:
    db: Database
    session: Session
    env: dict[str, str]
    home: Path


@pytest.fixture(scope="module")
def recorded(pg_server: PgTestServer, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[Recorded]:
    name = pg_server.create_database()
    db = Database(pg_server.admin_url(name), pg_server.app_url(name))
    home = tmp_path_factory.mktemp("session")
    keyring: Keyring = load_keyring(home / "keys", create=True)
    try:
        session = record_session(db, keyring, home, pg_server.app_url(name))
        assume_grid_step(db, session.runs["trader3"], ASSUMED_GRID_STEP)
        env = {"DATABASE_URL": pg_server.admin_url(name),
               "GRIDBOT_APP_DATABASE_URL": pg_server.app_url(name),
               "GRIDBOT_HOME": str(home / "gridbot")}
        yield Recorded(db, session, env, home)
    finally:
        db.close()
        pg_server.drop_database(name)


def _clean(rec: Recorded, name: str, **kwargs) -> CheckResult:
    """The run's window before the capture gap."""
    return run_comparison(rec.db, rec.session.runs[name], end_ms=rec.session.clean_end_ms,
                          store=False, **kwargs)


def _model(result: CheckResult, name: str = "CONSERVATIVE") -> ModelComparison:
    return next(m for m in result.comparison.models if m.model == name)


def _values(model: ModelComparison) -> dict[str, float | None]:
    return {m.name: m.value for m in model.metrics}


def _reasons(model: ModelComparison) -> Counter:
    return Counter(e.reason for e in model.explained)


def test_session_clean_run_conservative_meets_every_seed_target(recorded: Recorded) -> None:
    """CONSERVATIVE against the venue over about six minutes of market (about 60 orders).

    Measured at the last change: trade count match 1.0, slippage 1.08 ticks, timing drift
    0.27 ms, PnL delta 1.5 %, missed 0 (docs/validation.md, "What the local venue shows";
    before the simulated broker answered a millisecond's fills as one message: match 0.975
    to 0.983, drift 28 to 30 ms, missed 1.7 to 2.4 % over seven sessions: one order in 60
    was decided differently because the replay's engine split such a message's fills into
    two batches of the same-order latch).
    """
    result = _clean(recorded, "trader1")
    values = {m.model: _values(m) for m in result.comparison.models}
    print(json.dumps({"trader1 clean": values}, indent=1))  # the numbers, for the report
    conservative = _model(result)
    assert len(conservative.matching.pairs) >= 30, "a window with something to compare"
    value = values["CONSERVATIVE"]
    assert value["trade count match"] > targets.TRADE_COUNT_MATCH_MIN
    assert value["price slippage"] < targets.PRICE_SLIPPAGE_MAX_TICKS
    assert value["timing drift"] < targets.TIMING_DRIFT_MAX_MS
    assert value["PnL delta"] < targets.PNL_DELTA_MAX
    assert value["missed trades"] < targets.MISSED_TRADES_MAX
    assert conservative.passed
    assert all(e.reason is not Reason.DATA_GAP for e in conservative.explained)


def test_session_clean_run_books_agree_with_the_venues_reports(recorded: Recorded) -> None:
    """Accounting parity of a live run, loaded from what capture and the trading daemon
    stored: sizes, entry prices, values, unrealised and realised PnL at every position
    report, fees, funding and closed PnL over the window, the wallet's change at its last
    report, within a cent."""
    parity = _clean(recorded, "trader1").parity
    assert parity is not None
    quantities = {line.quantity for line in parity.lines}
    assert {"size", "entry price", "position value", "unrealised PnL", "fees", "funding",
            "closed PnL", "wallet change"} <= quantities
    assert parity.ok, [(f.quantity, f.position_idx, f.worst_difference) for f in
                       parity.failures]


def test_session_shadow_run_has_no_exchange_reports_to_check(recorded: Recorded) -> None:
    assert _clean(recorded, "trader4").parity is None


def test_session_live_fills_include_the_rows_capture_stored_first(recorded: Recorded) -> None:
    """Executions capture stored before the trading daemon carry no run id; they are the
    run's by their client id, and every execution of the account in the window is read."""
    session = recorded.session
    result = _clean(recorded, "trader1", models=["CONSERVATIVE"])
    inp = result.comparison.input
    with recorded.db.unit_of_work(session.users["trader1"]) as conn:
        total, unnamed = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE run_id IS NULL) FROM private_executions"
            " WHERE exec_type = 'Trade' AND exchange_ts > to_timestamp(%s / 1000.0)"
            " AND exchange_ts < to_timestamp(%s / 1000.0)",
            [inp.start_ms, inp.end_ms]).fetchone()
    assert unnamed > 0, "capture stored some executions first (else this proves nothing)"
    assert len(inp.live.fills) == total


def test_session_replay_with_another_grid_step_is_engine_divergence_first_decision_shown(
        recorded: Recorded) -> None:
    result = _clean(recorded, "trader3")
    model = _model(result)
    assert not model.passed
    divergence = model.divergence
    assert divergence is not None
    assert divergence.live is not None and divergence.replay is not None
    assert (divergence.live.intent_kind, divergence.live.price) != (
        divergence.replay.intent_kind, divergence.replay.price)
    reasons = _reasons(model)
    assert reasons[Reason.DIVERGENCE] > sum(reasons.values()) / 2, reasons


def test_session_capture_gap_marks_the_fills_inside_it_data_gap(recorded: Recorded) -> None:
    session = recorded.session
    result = run_comparison(recorded.db, session.runs["trader1"], end_ms=session.end_ms,
                            models=["CONSERVATIVE"], store=False)
    gaps = result.comparison.input.gaps
    assert [g.stream for g in gaps] == ["publicTrade"], gaps
    gap = gaps[0]
    assert session.gap_start_ms - 1000 <= gap.start_ms and gap.end_ms <= session.gap_end_ms
    model = _model(result)
    inside = [e for e in model.explained if gap.start_ms <= e.order.ts <= gap.end_ms]
    assert len(inside) >= 3, model.explained
    assert all(e.reason is Reason.DATA_GAP for e in inside)
    assert not model.passed


def test_session_venue_holding_acks_measures_the_latency_and_marks_fills_latency(
        recorded: Recorded) -> None:
    delayed, clean = _clean(recorded, "trader2"), _clean(recorded, "trader1")
    assert clean.comparison.input.latency.p50_ms < ACK_DELAY_MS
    assert delayed.comparison.input.latency.p50_ms >= ACK_DELAY_MS
    assert delayed.replay_latency_ms == delayed.comparison.input.latency.p50_ms
    model = _model(delayed)
    latency = [e for e in model.explained if e.reason is Reason.LATENCY]
    assert len(latency) >= 5, _reasons(model)
    assert len(latency) > _reasons(_model(clean))[Reason.LATENCY]
    assert {e.kind for e in latency} & {Kind.MISSED, Kind.FAR_OFF}


def test_session_shadow_run_replayed_with_its_own_model_agrees_fill_for_fill(
        recorded: Recorded) -> None:
    """A shadow run's live side is its simulated fills; the replay seeded from its snapshot
    with its own model (CONSERVATIVE, no latency) makes the same ones. The daemon steps
    the market in exchange order as the replay does (a trade that overtook its ticker waits
    for it, ``daemons/trading/arrival.py``; the venue sends no trade after a later-stamped
    ticker, ``tests/daemons/venue/test_ticker_order.py``), so the two are exact, fill for
    fill (four of four sessions with both fixes; with the hold alone one of twelve parted).

    One race is left, and only it may part them: a trade stamped in the very millisecond
    of a ticker but delivered after it is stepped after it by the daemon, while the replay
    puts it first when capture received both in one millisecond (replay order). It matters
    only if the trade crosses an order that ticker placed, so a difference must come with
    such a crossing in the window (none in the sessions measured)."""
    result = _clean(recorded, "trader4", models=["CONSERVATIVE"])
    model = _model(result)
    assert len(result.comparison.input.live.fills) >= 10
    if model.divergence is not None or model.explained:
        assert _same_millisecond_crossings(recorded, "trader4", result) > 0, model.explained
        return
    values = _values(model)
    assert values["trade count match"] == 1.0
    assert values["price slippage"] == 0.0 and values["PnL delta"] == 0.0


def _same_millisecond_crossings(rec: Recorded, name: str, result: CheckResult) -> int:
    """Placements of the run's window decided on a ticker whose own millisecond holds a
    public trade strictly through the order's price."""
    inp = result.comparison.input
    with rec.db.admin() as conn:
        return conn.execute(
            "SELECT count(*) FROM engine_decisions d WHERE d.run_id = %s"
            " AND d.trigger_kind = 'ticker' AND d.price IS NOT NULL"
            " AND d.exchange_ts >= to_timestamp(%s / 1000.0)"
            " AND d.exchange_ts < to_timestamp(%s / 1000.0)"
            " AND EXISTS (SELECT 1 FROM public_trades t WHERE t.symbol = d.symbol"
            " AND t.exchange_ts = d.exchange_ts AND CASE WHEN d.side = 'Buy'"
            " THEN t.price < d.price ELSE t.price > d.price END)",
            [rec.session.runs[name], inp.start_ms, inp.end_ms]).fetchone()[0]


def test_session_cli_compare_prints_writes_and_stores_for_the_owner_only(
        recorded: Recorded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    session = recorded.session
    for variable, value in recorded.env.items():
        monkeypatch.setenv(variable, value)
    run = str(session.runs["trader3"])
    result = gridbot("compare", "--user", session.usernames["trader3"], "--run", run,
                     "--to", str(session.clean_end_ms), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output + result.stderr
    assert "CONSERVATIVE" in result.stdout and "FAIL" in result.stdout
    assert "accounting parity: ok" in result.stdout, result.stdout
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "comparison.html", "comparison.md", "comparison.json"}
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert "## First diverging decision" in markdown and "- CONSERVATIVE: decision #" in markdown
    db = recorded.db
    with db.unit_of_work(session.users["trader3"]) as conn:
        stored = conn.execute("SELECT c.comparison_id, c.passed, c.report_digest,"
                              " count(f.*) FILTER (WHERE f.kind <> 'pair')"
                              " FROM comparisons c JOIN comparison_fills f USING"
                              " (comparison_id) WHERE c.run_id = %s GROUP BY 1, 2, 3",
                              [run]).fetchall()
        models = conn.execute("SELECT fill_model, passed, divergence IS NOT NULL FROM"
                              " comparison_results ORDER BY 1").fetchall()
    assert len(stored) == 1 and stored[0][1] is False and stored[0][3] > 0
    assert [m for m, _, _ in models] == ["CONSERVATIVE", "OPTIMISTIC", "PESSIMISTIC", "QUEUE"]
    assert all(diverged for _, _, diverged in models)
    # as the app role: another user sees nothing of it, by query or by command
    with db.unit_of_work(session.users["trader1"]) as conn:
        assert conn.execute("SELECT count(*) FROM comparisons").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM comparison_fills").fetchone()[0] == 0
    own = gridbot("reports", "list", "--user", session.usernames["trader3"])
    other = gridbot("reports", "list", "--user", session.usernames["trader1"])
    assert own.exit_code == other.exit_code == 0
    assert run in own.stdout and run not in other.stdout
    refused = gridbot("reports", "list", "--user", session.usernames["trader1"], "--run", run)
    assert refused.exit_code == 1
    assert operator_stderr_lines(refused.stderr) == [f"error: unknown run {run}"]
    foreign = gridbot("compare", "--user", session.usernames["trader1"], "--run", run)
    assert foreign.exit_code == 1
    assert operator_stderr_lines(foreign.stderr) == [f"error: unknown run {run}"]


@pytest.fixture
def running(recorded: Recorded) -> Iterator[None]:
    """trader1's and trader3's runs as if their daemons still ran (the watch checks those)."""
    ids = [recorded.session.runs[n] for n in ("trader1", "trader3")]
    with recorded.db.admin() as conn:
        ends = conn.execute("SELECT run_id, end_ts, status FROM runs WHERE run_id = ANY(%s)",
                            [ids]).fetchall()
        conn.execute("UPDATE runs SET end_ts = NULL, status = 'running'"
                     " WHERE run_id = ANY(%s)", [ids])
    yield
    with recorded.db.admin() as conn:
        for run_id, end_ts, status in ends:
            conn.execute("UPDATE runs SET end_ts = %s, status = %s WHERE run_id = %s",
                         [end_ts, status, run_id])


def test_session_watch_alerts_and_reports_the_failing_run_and_stores_every_check(
        recorded: Recorded, running: None, tmp_path: Path) -> None:
    session, db = recorded.session, recorded.db
    receiver = Receiver()
    alerts = AlertSender(receiver.url, throttle_s=0.0)
    checked: list[CheckResult] = []
    stop = threading.Event()
    config = WatchConfig(models=("CONSERVATIVE",), interval_s=1.0, window_s=20.0,
                         settle_s=0.0, keep_going=True, reports_dir=tmp_path / "reports")

    def on_check(result: CheckResult) -> None:
        checked.append(result)
        if len(checked) == 2:
            stop.set()

    try:
        assert watch(db, config, alerts, stop, clock=lambda: session.clean_end_ms / 1000,
                     on_check=on_check) == []
        by_run = {UUID(r.comparison.input.run_id): r for r in checked}
        failing = [r for r in checked if not r.passed]
        bodies = receiver.wait_for(len(failing))
    finally:
        alerts.close()
        receiver.close()
    assert set(by_run) == {session.runs["trader1"], session.runs["trader3"]}
    assert not by_run[session.runs["trader3"]].passed
    assert sorted(b["subject"] for b in bodies) == sorted(
        f"run {r.comparison.input.run_id}" for r in failing)
    assert all(b["kind"] == ALERT_KIND and "CONSERVATIVE" in b["message"] for b in bodies)
    for result in checked:
        inp = result.comparison.input
        assert inp.end_ms == session.clean_end_ms
        assert inp.end_ms - inp.start_ms <= 20_000 + 5_000  # the newest window, not all
        assert (result.reports is not None and "html" in result.reports) == (not result.passed)
    with db.admin() as conn:
        stored = conn.execute("SELECT run_id, passed FROM comparisons WHERE origin = 'watch'"
                              ).fetchall()
    assert sorted(stored) == sorted((UUID(r.comparison.input.run_id), r.passed)
                                    for r in checked)


def test_session_cli_watch_exits_on_the_first_failing_check_with_an_alert(
        recorded: Recorded, running: None, monkeypatch: pytest.MonkeyPatch) -> None:
    session = recorded.session
    receiver = Receiver()
    for variable, value in recorded.env.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("GRIDBOT_ALERT_WEBHOOK", receiver.url)
    try:
        result = gridbot("compare", "--watch", "--user", session.usernames["trader3"],
                         "--window-s", "3600", "--interval-s", "1")
        bodies = receiver.wait_for(1)
    finally:
        receiver.close()
    assert result.exit_code == 3, result.output + result.stderr
    assert f"run {session.runs['trader3']}" in result.stdout and "FAIL" in result.stdout
    assert [b["subject"] for b in bodies] == [f"run {session.runs['trader3']}"]


def test_session_calibration_fits_on_one_half_judges_on_the_other_and_is_the_default(
        recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    """QUEUE calibrated on trader1's clean window: the fit half picks the queue size, the
    other half (never seen by the fit) scores it; both are stored and printed, and a later
    QUEUE comparison of the symbol replays with it unless told otherwise."""
    from daemons.db import calibrations
    from daemons.validation.calibrate import calibrate_run

    run_id = recorded.session.runs["trader1"]
    result = calibrate_run(recorded.db, run_id, end_ms=recorded.session.clean_end_ms)
    print(json.dumps({"calibration": {
        "queue_ahead": result.queue_ahead, "latency_ms": result.latency_ms,
        "in_sample": [result.in_sample.match, result.in_sample.pnl_delta],
        "out_of_sample": [result.out_of_sample.match, result.out_of_sample.pnl_delta]}}))
    assert result.fit_window.end_ms == result.test_window.start_ms
    assert result.in_sample.live_fills > 5 and result.out_of_sample.live_fills > 5
    assert len(result.tried) == 10
    assert result.in_sample == min((s for _, s in result.tried), key=lambda s: s.key())
    owner = recorded.session.users["trader1"]
    with recorded.db.unit_of_work(owner) as conn:
        assert calibrations.newest_queue_ahead(conn, "BTCUSDT") == result.queue_ahead
    later = _clean(recorded, "trader1", models=["QUEUE"])
    assert later.queue_ahead == result.queue_ahead
    assert _clean(recorded, "trader1", models=["QUEUE"], queue_ahead=0.5).queue_ahead == 0.5
    for variable, value in recorded.env.items():
        monkeypatch.setenv(variable, value)
    listed = gridbot("calibrate", "list", "--user", recorded.session.usernames["trader1"])
    assert listed.exit_code == 0 and "BTCUSDT" in listed.stdout
