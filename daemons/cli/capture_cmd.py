"""`gridbot capture`: record the public market and every enabled account's private streams.

``gridbot capture [--environment local --venue-url http://127.0.0.1:8090]`` runs until
Ctrl-C or SIGTERM, then flushes everything it holds; it reads its accounts and symbols
again every ``--refresh-interval-s`` and on SIGHUP. ``gridbot capture status`` shows,
per stream, what the running daemon last wrote to its status file. Credentials come from
the database (decrypted in memory with the master key), never from the command line.
"""

from __future__ import annotations

import json

import typer

from daemons.cli.daemon_options import (
    DAY_S,
    DURATION_S,
    ORDER_RATE,
    QUERY_RATE,
    REFRESH_INTERVAL_S,
    VENUE_URL,
    environment_option,
)

app = typer.Typer(help="Capture streams into PostgreSQL (`gridbot capture`) and show what it "
                       "does (`gridbot capture status`).",
                  no_args_is_help=False, invoke_without_command=True)

#: Upper bound of --spill-after-rows (the others: daemon_options).
MAX_SPILL_AFTER_ROWS = 5_000_000


@app.callback()
def capture(
    ctx: typer.Context,
    environment: str = environment_option("capture"),
    venue_url: str | None = VENUE_URL,
    duration_s: float = DURATION_S,
    reconcile_interval_s: float = typer.Option(
        60.0, "--reconcile-interval-s", min=1.0, max=DAY_S,
        help="Seconds between timer reconciliations."),
    refresh_interval_s: float = REFRESH_INTERVAL_S,
    order_rate: int = ORDER_RATE,
    query_rate: int = QUERY_RATE,
    spill_after_rows: int = typer.Option(
        200_000, "--spill-after-rows", min=1, max=MAX_SPILL_AFTER_ROWS,
        help="While the database is down, rows kept in memory before they are appended to "
             "the spill file under $GRIDBOT_HOME/capture/spill (replayed when it is back)."),
) -> None:
    """Capture public trades, tickers, funding and private streams until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    import signal
    import threading

    from daemons.bybit.endpoints import endpoints_for
    from daemons.bybit.ratelimit import RateLimits
    from daemons.capture.daemon import CaptureConfig, CaptureDaemon, single_instance
    from daemons.capture.reconciler import ReconcileConfig
    from daemons.cli.support import cli_errors, fail, open_database
    from daemons.db.event_writer import WriterConfig
    from daemons.db.keyring import open_keyring
    from daemons.db.settings import load_settings
    from daemons.db.targets import discover

    try:
        endpoints = endpoints_for(environment, venue_url)
        config = CaptureConfig(rest_limits=RateLimits(order_rate, query_rate),
                               refresh_interval_s=refresh_interval_s,
                               writer=WriterConfig(max_buffer_rows=spill_after_rows),
                               reconcile=ReconcileConfig(interval_s=reconcile_interval_s))
    except ValueError as e:
        fail(str(e))
    home = load_settings().home
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with cli_errors():
        db = open_database()
        keyring = open_keyring(db, home)
        targets = discover(db, keyring, environment)
        if not targets.symbols and not targets.accounts:
            fail(f"nothing to capture: no enabled strategy or account in {environment!r}")
        try:
            with single_instance(home):
                daemon = CaptureDaemon(db, endpoints, targets, home, config,
                                       discover=lambda known: discover(db, keyring,
                                                                       environment, known))
                signal.signal(signal.SIGHUP, lambda *_: daemon.request_refresh())
                typer.echo(f"capturing {environment}: symbols {', '.join(targets.symbols) or '-'};"
                           f" accounts {', '.join(a.name for a in targets.accounts) or '-'};"
                           f" status: gridbot capture status")
                if targets.other_environments:
                    typer.echo(f"{targets.other_environments} enabled account(s) of other "
                               "environments are left to their own capture daemon")
                daemon.run(stop, duration_s or None)
        except RuntimeError as e:
            fail(str(e))
    typer.echo("capture stopped")


@app.command("status")
def status(
    as_json: bool = typer.Option(
        False, "--json", help="Print the status file's JSON, with the daemon's state added."),
) -> None:
    """Running or stopped; per stream: last event, events/s, reconnects, gaps, buffered rows."""
    from daemons.capture.status import render
    from daemons.cli.support import fail
    from daemons.db.settings import load_settings
    from daemons.status_file import read_status, state

    path = load_settings().home / "capture" / "status.json"
    snapshot = read_status(path)
    if snapshot is None:
        fail(f"no capture status at {path}: is `gridbot capture` running with this "
             "GRIDBOT_HOME?")
    if as_json:
        typer.echo(json.dumps({"state": state(snapshot), **snapshot}, indent=1))
    else:
        typer.echo(render(snapshot))
