"""`gridbot trade`: run every enabled strategy of every enabled account, live or in shadow.

``gridbot trade [--environment local --venue-url http://127.0.0.1:8090] [--shadow]`` runs
until Ctrl-C or SIGTERM (then every strategy takes a last snapshot and its run is closed);
it reads accounts, strategies and credentials again every ``--refresh-interval-s`` and on
SIGHUP. Several daemons may share one database: each account is traded by one of them at a
time and taken over when its daemon dies. ``gridbot trade status`` shows every daemon's
accounts and strategies. Credentials come from the database (decrypted in memory with the
master key); the alert webhook from ``GRIDBOT_ALERT_WEBHOOK`` (a webhook URL often holds a
token): neither is ever on the command line.
"""

from __future__ import annotations

import json
import os

import typer

from daemons.cli.daemon_options import (
    DAY_S,
    DURATION_S,
    MAX_RATE,
    ORDER_RATE,
    QUERY_RATE,
    REFRESH_INTERVAL_S,
    VENUE_URL,
    environment_option,
)

app = typer.Typer(help="Trade every enabled strategy (`gridbot trade`) and show what the "
                       "daemons do (`gridbot trade status`).",
                  no_args_is_help=False, invoke_without_command=True)

WEBHOOK_ENV = "GRIDBOT_ALERT_WEBHOOK"


@app.callback()
def trade(
    ctx: typer.Context,
    environment: str = environment_option("trade"),
    venue_url: str | None = VENUE_URL,
    shadow: bool = typer.Option(
        False, "--shadow",
        help="Run every strategy in shadow: decide on live events, send nothing, fill the "
             "would-be orders from live public trades (a strategy's own mode can also be "
             "shadow)."),
    shadow_fill_model: str = typer.Option(
        "conservative", "--shadow-fill-model",
        help="Fill model of shadow runs: optimistic, conservative, pessimistic or queue."),
    duration_s: float = DURATION_S,
    refresh_interval_s: float = REFRESH_INTERVAL_S,
    lease_poll_s: float = typer.Option(
        2.0, "--lease-poll-s", min=0.1, max=600.0,
        help="Seconds between lease checks; a dead daemon's accounts are taken over within "
             "this after PostgreSQL ends its session."),
    snapshot_interval_s: float = typer.Option(
        60.0, "--snapshot-interval-s", min=1.0, max=DAY_S,
        help="Seconds between engine snapshots (seeded replays start from one)."),
    order_rate: int = ORDER_RATE,
    query_rate: int = QUERY_RATE,
    ip_rate: int = typer.Option(
        100, "--ip-rate", min=1, max=MAX_RATE,
        help="Requests per second of the whole daemon (Bybit limits each IP address to 600 "
             "requests in 5 s)."),
    health_port: int = typer.Option(
        0, "--health-port", min=0, max=65535,
        help="Loopback port of /healthz and /metrics (0: any free port, shown in status)."),
    daemon_id: str | None = typer.Option(
        None, "--daemon-id",
        help="This daemon's name among those sharing the database (default host-pid-random)."),
) -> None:
    """Trade until interrupted; see `gridbot trade --help`."""
    if ctx.invoked_subcommand is not None:
        return
    import re
    import signal
    import threading

    from daemons.bybit.endpoints import endpoints_for
    from daemons.bybit.ratelimit import RateLimits
    from daemons.cli.support import USAGE_ERROR, cli_errors, fail, open_database
    from daemons.db.keyring import open_keyring
    from daemons.db.settings import load_settings
    from daemons.trading.config import WorkerConfig
    from daemons.trading.daemon import TradeConfig, TradeDaemon
    from daemons.trading.targets import discover
    from gridcore.sim.models import make_fill_model

    if daemon_id is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", daemon_id):
        fail("--daemon-id: 1 to 40 letters, digits, '_', '.' or '-'", USAGE_ERROR)
    try:
        make_fill_model(shadow_fill_model)
        endpoints = endpoints_for(environment, venue_url)
        config = TradeConfig(
            refresh_interval_s=refresh_interval_s, lease_poll_s=lease_poll_s,
            alert_webhook=os.environ.get(WEBHOOK_ENV) or None, health_port=health_port,
            worker=WorkerConfig(snapshot_interval_s=snapshot_interval_s,
                                rest_limits=RateLimits(order_rate, query_rate),
                                ip_requests_per_s=ip_rate,
                                shadow_fill_model=shadow_fill_model.upper(),
                                shadow_all=shadow))
    except ValueError as e:
        fail(str(e))
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with cli_errors():
        db = open_database()
        keyring = open_keyring(db, settings.home)
        targets = discover(db, keyring, environment)
        if not targets.accounts:
            reasons = "; ".join(f"{n}: {r}" for n, r in targets.refused)
            fail(f"nothing to trade: no enabled account with an enabled strategy in "
                 f"{environment!r}" + (f" ({reasons})" if reasons else ""))
        daemon = TradeDaemon(db, endpoints, lambda known: discover(db, keyring, environment,
                                                                   known),
                             settings.home, lease_url=db.app_login_url, config=config,
                             daemon_id=daemon_id, environment=environment)
        signal.signal(signal.SIGHUP, lambda *_: daemon.request_refresh())
        daemon.start()
        port = daemon.health.port if daemon.health is not None else "-"
        typer.echo(f"trading {environment} as {daemon.daemon_id}: "
                   f"{len(targets.accounts)} enabled account(s); health and metrics on "
                   f"http://127.0.0.1:{port}/healthz and /metrics; status: gridbot trade status")
        try:
            stop.wait(duration_s or None)
        finally:
            daemon.stop()
    typer.echo("trading stopped")


@app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the status documents' JSON."),
) -> None:
    """Every trading daemon: per account and strategy its state, breaker, orders, latency."""
    from daemons.cli.support import fail, print_table
    from daemons.db.settings import load_settings
    from daemons.status_file import state
    from daemons.trading.status import HEADERS, headline, read_all, rows

    home = load_settings().home
    documents = read_all(home)
    if not documents:
        fail(f"no trading status under {home / 'trade'}: is `gridbot trade` running with "
             "this GRIDBOT_HOME?")
    if as_json:
        typer.echo(json.dumps([{"state": state(d), **d} for d in documents], indent=1))
        return
    for document in documents:
        typer.echo(headline(document))
        table = rows(document)
        if table:
            print_table("accounts and strategies", tuple(HEADERS), [tuple(r) for r in table])
        for error in document.get("errors", []):
            typer.echo(f"error: {error['account']}: {error['reason']}")
        for refused in document.get("refused", []):
            typer.echo(f"not traded: {refused['account']}: {refused['reason']}")
