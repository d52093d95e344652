"""`gridbot calibrate`: fit the QUEUE fill model on a live run, judge it out of sample.

``gridbot calibrate run --user U --run R [--to T]`` cuts the run's window at the snapshot
nearest its middle, fits the queue assumed ahead of a new order on the first part and
scores it on the second (which the fit never saw), prints both scores and stores the
calibration; later QUEUE replays of that symbol (``gridbot compare``) use the newest one
by default. ``gridbot calibrate list [--user U] [--symbol S]`` shows the stored ones.
The logic is ``daemons.validation.calibrate``.
"""

from __future__ import annotations

import typer

from daemons.cli.support import (
    cli_errors,
    fail,
    open_database,
    parse_run_id,
    print_table,
    time_ms,
)

app = typer.Typer(help="Calibrate the QUEUE fill model from live runs (`run`) and list the "
                       "stored calibrations (`list`).", no_args_is_help=True)


@app.command("run")
def run(
    user: str = typer.Option(..., "--user", help="The run's owner."),
    run_text: str = typer.Option(..., "--run", metavar="RUN", help="The live run to fit on."),
    end: str | None = typer.Option(None, "--to", help="Window end, exclusive (default: the "
                                                      "run's end, or now)."),
    no_store: bool = typer.Option(False, "--no-store", help="Print only, store nothing."),
) -> None:
    """Fit QUEUE's queue size on the run's first half; score it on the second."""
    from daemons.backtest.runner import BacktestInputError
    from daemons.validation.calibrate import calibrate_run
    from daemons.validation.check import user_id_of

    try:
        run_id = parse_run_id(run_text)
        end_ms = time_ms("--to", end)
    except ValueError as e:
        fail(str(e))
    with cli_errors():
        db = open_database()
        try:
            result = calibrate_run(db, run_id, user_id=user_id_of(db, user), end_ms=end_ms,
                                   store=not no_store)
        except (BacktestInputError, ValueError) as e:
            fail(str(e))
    print_table(f"QUEUE calibration of {result.symbol}", ("window", "from ms", "to ms",
                                                           "match", "PnL delta", "live fills"),
                [(name, str(w.start_ms), str(w.end_ms), f"{s.match:.4f}", f"{s.pnl_delta:.4f}",
                  str(s.live_fills))
                 for name, w, s in (("fit (in sample)", result.fit_window, result.in_sample),
                                    ("test (out of sample)", result.test_window,
                                     result.out_of_sample))])
    typer.echo(f"queue ahead {result.queue_ahead:g} (of {len(result.tried)} tried), latency "
               f"{result.latency_ms} ms" + ("" if no_store else "; stored"))


@app.command("list")
def list_(
    user: str = typer.Option(..., "--user", help="Whose calibrations."),
    symbol: str | None = typer.Option(None, "--symbol", help="Only this symbol."),
) -> None:
    """Stored calibrations, newest first, with their in-sample and out-of-sample scores."""
    from daemons.db import calibrations
    from daemons.db.strategies import check_symbol
    from daemons.validation.check import user_id_of

    with cli_errors():
        if symbol is not None:
            check_symbol(symbol)
        db = open_database()
        with db.unit_of_work(user_id_of(db, user)) as conn:
            rows = calibrations.list_calibrations(conn, symbol)
    print_table("calibrations", ("id", "run", "symbol", "queue ahead", "latency ms",
                                 "match in / out", "created"),
                [(str(c), str(r), s, f"{q:g}", str(lat),
                  f"{i['match']:.3f} / {o['match']:.3f}", created.isoformat(timespec="seconds"))
                 for c, r, s, q, lat, i, o, created in rows])
