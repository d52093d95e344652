"""One check of a live (or shadow) run: load it, replay its window with each fill model,
compare, write the reports, store the results.

:func:`run_comparison` is what ``gridbot compare`` and the Dagster assets call (the watch
calls its two halves, :func:`check_run` and :func:`save_check`, to write reports only for
a failing check); the command line only parses options and prints. Steps:

1. The run's owner: given (``user_id``: the run must be theirs, read in their unit of work,
   so another user's run is as unknown as one that does not exist) or looked up.
2. The window: from the run's newest engine snapshot at or before ``start_ms`` (default:
   its first usable snapshot, :func:`first_window`) to ``end_ms`` (default: the run's end,
   or now while it runs).
3. The live side, latency and capture gaps (:mod:`.load`).
4. One seeded replay per model (:mod:`.replay`), with the measured latency (its median)
   unless ``latency_ms`` is given, and ``queue_ahead`` for QUEUE (default: the owner's
   newest calibration for the symbol, :mod:`.calibrate`).
5. :func:`~daemons.validation.compare.compare_run`; the reports when ``out_dir`` is given
   (the JSON report's SHA-256 is stored with its directory); the results, in the owner's
   unit of work.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from daemons.backtest.live_seed import BEFORE_MARKET
from daemons.backtest.runner import BacktestInputError
from daemons.db import calibrations, captured, comparisons, runs, users
from daemons.db.errors import NotFound
from daemons.db.session import Database
from daemons.db.times import ms_of_datetime
from daemons.validation.compare import Comparison, compare_run
from daemons.validation.inputs import ComparisonInput, RunSide
from daemons.validation.load import LiveRun, load_exchange_reports, load_live
from daemons.validation.parity import Parity, check_parity
from daemons.validation.records import model_records
from daemons.validation.replay import SeededWindow, replay_model, seeded_window
from daemons.validation.report_files import write_reports
from gridcore.sim.models import FillModelName, make_fill_model

ALL_MODELS = tuple(m.value for m in FillModelName)
#: Snapshots tried, oldest first, for a run's first usable one.
SNAPSHOTS_TRIED = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """A finished check: the comparison, whose run it is, what the replays ran with, and
    (once saved) its stored id and reports."""

    comparison: Comparison
    owner: UUID
    replay_latency_ms: int
    queue_ahead: float
    comparison_id: UUID | None = None
    reports: dict[str, Path] | None = None
    #: gridcore's books of the live run against the exchange's reports (None for a shadow
    #: run, or without a position report before the window).
    parity: Parity | None = None

    @property
    def passed(self) -> bool:
        return all(self.comparison.passed.values())

    @property
    def failed_models(self) -> list[str]:
        return [m.model for m in self.comparison.models if not m.passed]


def check_models(models: Sequence[str]) -> tuple[str, ...]:
    """Model names, upper case, each once; an unknown one is refused by name."""
    names: list[str] = []
    for model in models:
        make_fill_model(model)  # names the known models when it is unknown
        if model.upper() not in names:
            names.append(model.upper())
    if not names:
        raise ValueError("fill models: name at least one")
    return tuple(names)


def owner_of_run(db: Database, run_id: UUID, user_id: UUID | None = None) -> UUID:
    """The run's owner; with ``user_id``, the run must be visible in that user's unit of
    work (row-level security), else it is unknown, as a run that does not exist."""
    if user_id is not None:
        with db.unit_of_work(user_id) as conn:
            runs.get_run(conn, run_id)
        return user_id
    with db.admin() as conn:
        owner = runs.owner_of(conn, str(run_id))
    if owner is None:
        raise NotFound(f"unknown run {run_id}")
    return owner


def user_id_of(db: Database, username: str) -> UUID:
    """A user by name (an unknown one is a one-line error)."""
    with db.admin() as conn:
        return users.get_user(conn, username).user_id


def run_comparison(db: Database, run_id: UUID, models: Sequence[str] = ALL_MODELS, *,
                   user_id: UUID | None = None, start_ms: int | None = None,
                   end_ms: int | None = None, latency_ms: int | None = None,
                   queue_ahead: float | None = None, out_dir: Path | None = None,
                   store: bool = True, origin: str = "cli") -> CheckResult:
    """Compare ``run_id`` over its window with a seeded replay per model (module doc);
    write the reports into ``out_dir`` (if given) and store the results (if ``store``)."""
    result = check_run(db, run_id, models, user_id=user_id, start_ms=start_ms, end_ms=end_ms,
                       latency_ms=latency_ms, queue_ahead=queue_ahead)
    return save_check(db, result, out_dir=out_dir, store=store, origin=origin)


def check_run(db: Database, run_id: UUID, models: Sequence[str] = ALL_MODELS, *,
              user_id: UUID | None = None, start_ms: int | None = None,
              end_ms: int | None = None, latency_ms: int | None = None,
              queue_ahead: float | None = None) -> CheckResult:
    """Steps 1 to 4 and the comparison: nothing written. Without ``queue_ahead`` QUEUE
    uses the owner's newest calibration for the run's symbol (0 before any)."""
    names = check_models(models)
    owner = owner_of_run(db, run_id, user_id)
    with db.unit_of_work(owner) as conn:
        run = runs.get_run(conn, run_id)
        if queue_ahead is None:
            queue_ahead = calibrations.newest_queue_ahead(
                conn, str(run.config_snapshot.get("symbol", ""))) or 0.0
    if end_ms is None:
        end_ms = ms_of_datetime(run.end_ts) if run.end_ts is not None else \
            time.time_ns() // 1_000_000
    if start_ms is None:
        window = first_window(db, owner, run_id, end_ms)
    else:
        window = seeded_window(db, run_id, start_ms, end_ms)
    with db.unit_of_work(owner) as conn:
        live = load_live(conn, run, window.start_ms, end_ms)
        reports = load_exchange_reports(conn, live)
    used = live.latency.p50_ms if latency_ms is None else latency_ms
    replays = [replay_model(window, name, latency_ms=used, queue_ahead=queue_ahead)[0]
               for name in names]
    return CheckResult(compare_run(_input(live, window, replays)), owner, used, queue_ahead,
                       parity=None if reports is None else check_parity(reports))


def first_window(db: Database, owner: UUID, run_id: UUID, end_ms: int) -> SeededWindow:
    """The window from the run's first usable snapshot: taken after its engine saw the
    market, and with its cut in the captured data. The first snapshots after a start may
    count the ticker the live feed's own subscription delivered, which no capture holds;
    the next one that does not is used (at most :data:`SNAPSHOTS_TRIED` are tried)."""
    with db.unit_of_work(owner) as conn:
        times = captured.snapshot_times(conn, run_id, BEFORE_MARKET, SNAPSHOTS_TRIED)
    if not times:
        raise NotFound(f"run {run_id} has no engine snapshot taken after its engine saw the "
                       "market: nothing to replay from")
    for ts in times[:-1]:
        try:
            return seeded_window(db, run_id, ts, end_ms)
        except BacktestInputError as e:
            log.info("run %s: snapshot at %d ms not usable (%s); trying the next", run_id,
                     ts, e)
    return seeded_window(db, run_id, times[-1], end_ms)


def save_check(db: Database, result: CheckResult, *, out_dir: Path | None = None,
               store: bool = True, origin: str = "cli") -> CheckResult:
    """Write the reports into ``out_dir`` (if given); store the results for the run's
    owner (if ``store``), with the JSON report's directory and SHA-256."""
    comparison = result.comparison
    paths = write_reports(comparison, out_dir, parity=result.parity) if out_dir is not None \
        else {}
    comparison_id = None
    if store:
        inp, latency = comparison.input, comparison.input.latency
        digest = hashlib.sha256(paths["json"].read_bytes()).hexdigest() if paths else None
        with db.unit_of_work(result.owner) as conn:
            comparison_id = comparisons.insert_comparison(
                conn, run_id=UUID(inp.run_id), symbol=inp.symbol, start_ms=inp.start_ms,
                end_ms=inp.end_ms, origin=origin, models=model_records(comparison),
                latency={"count": latency.count, "p50_ms": latency.p50_ms,
                         "p99_ms": latency.p99_ms, "max_ms": latency.max_ms,
                         "replay_ms": result.replay_latency_ms,
                         "queue_ahead": result.queue_ahead},
                report_dir=None if out_dir is None else str(out_dir), report_digest=digest)
    return CheckResult(comparison, result.owner, result.replay_latency_ms, result.queue_ahead,
                       comparison_id, paths, result.parity)


def _input(live: LiveRun, window: SeededWindow, replays: list[RunSide]) -> ComparisonInput:
    seed = window.seed
    return ComparisonInput(
        run_id=str(live.run.run_id), symbol=live.symbol, tick_size=live.tick_size,
        start_ms=window.start_ms, end_ms=live.end_ms, live=live.side, replays=replays,
        tape=window.tape, latency=live.latency, start_positions=seed.positions,
        open_at_start=frozenset(o.order_link_id for o in seed.orders if o.order_link_id),
        gaps=live.gaps, grid_levels=grid_levels(seed.engine_state, live.side))


def grid_levels(engine_state: dict, live: RunSide) -> tuple[float, ...]:
    """The grid's prices at the seed; a run seeded before its first grid shows the prices
    of the first grid it placed (its decisions on the first trigger that placed any)."""
    levels = tuple(sorted(float(price) for price, _side in engine_state.get("grid", ())))
    if levels:
        return levels
    places = [d for d in live.decisions if d.intent_kind == "place" and d.price is not None]
    if not places:
        return ()
    first = places[0].ts
    return tuple(sorted({float(d.price) for d in places if d.ts == first and d.price}))
