"""`gridbot venue`: serve the local Bybit v5 venue on loopback until Ctrl-C or SIGTERM.

Secrets come only from the accounts file, never from the command line. Heavy imports
stay inside the command so that ``gridbot --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path

import typer

FAULT_HELP = (
    "Start with a fault active: KIND=SECONDS[,option=value...], repeatable. KIND is one of "
    "http_5xx (option status), rate_limit, auth_reject, ack_delay (option ms), "
    "stall_public, stall_private (option mode=hold|drop); account=NAME narrows it."
)


def _parse_fault(text: str) -> tuple[str, float, str | None, dict[str, str]]:
    from daemons.venue.faults import KINDS

    head, *opts = text.split(",")
    kind, _, seconds = head.partition("=")
    if kind not in KINDS:
        raise typer.BadParameter(f"unknown fault {kind!r}; known: {', '.join(sorted(KINDS))}",
                                 param_hint="--fault")
    try:
        duration = float(seconds)
    except ValueError as e:
        raise typer.BadParameter(f"{text!r}: expected KIND=SECONDS", param_hint="--fault") from e
    options = dict(o.partition("=")[::2] for o in opts if o)
    return kind, duration, options.pop("account", None), options


def venue(
    accounts: Path = typer.Option(
        ..., "--accounts", exists=True, dir_okay=False, readable=True,
        help="YAML or JSON accounts file: a list of {name, api_key, api_secret, usdt}."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback)."),
    port: int = typer.Option(8090, "--port", min=0, max=65535,
                             help="TCP port for REST, WebSocket and /admin (0: any free)."),
    tape: str = typer.Option("generated", "--tape",
                             help="generated | bars | path to a trades or bars CSV."),
    seed: int = typer.Option(1, "--seed", help="Seed of the tape, depth and latency draws."),
    speed: float = typer.Option(1.0, "--speed", min=0.001,
                                help="Tape speed factor, e.g. 60 plays a minute per second."),
    funding_rate: str = typer.Option("0.0001", "--funding-rate",
                                     help="Funding rate charged at each funding time."),
    funding_interval_s: int = typer.Option(28800, "--funding-interval-s", min=1,
                                           help="Seconds of tape time between fundings."),
    cross_policy: str = typer.Option("taker", "--cross-policy",
                                     help="A crossing GTC limit order: taker | reject."),
    latency_ms: float = typer.Option(15.0, "--latency-ms", min=0.0,
                                     help="Median order latency in ms (lognormal)."),
    depth_median_qty: float = typer.Option(2.0, "--depth-median-qty", min=0.0,
                                           help="Median hidden size per price level (BTC)."),
    start_paused: bool = typer.Option(False, "--start-paused",
                                      help="Start with the tape paused (resume via /admin)."),
    fault: list[str] = typer.Option([], "--fault", help=FAULT_HELP),
) -> None:
    """Serve a local Bybit v5 venue (REST, WebSocket, /admin faults) until interrupted."""
    import asyncio
    import signal
    from decimal import Decimal, InvalidOperation

    from daemons.venue.clock import wall_ms
    from daemons.venue.config import ConfigError, VenueConfig, load_accounts
    from daemons.venue.server import VenueServer, serve

    faults = [_parse_fault(f) for f in fault]
    try:
        config = VenueConfig(
            accounts=load_accounts(accounts), host=host, port=port, tape=tape, seed=seed,
            speed=speed, funding_rate=Decimal(funding_rate),
            funding_interval_s=funding_interval_s, cross_policy=cross_policy,
            latency_ms_median=latency_ms, depth_median_qty=depth_median_qty,
            start_paused=start_paused,
        )
    except (ConfigError, InvalidOperation) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e

    def ready(server: VenueServer) -> None:
        for kind, duration, account, options in faults:
            server.faults.set(kind, wall_ms() + int(duration * 1000), account, options)
        base = server.base_url
        typer.echo(f"venue REST       {base}")
        typer.echo(f"venue public WS  {base.replace('http', 'ws')}/v5/public/linear")
        typer.echo(f"venue private WS {base.replace('http', 'ws')}/v5/private")
        typer.echo(f"venue admin      {base}/admin/status")
        typer.echo(f"tape {tape} at {speed}x, {len(config.accounts)} account(s); Ctrl-C to stop")

    async def main() -> None:
        task = asyncio.ensure_future(serve(config, ready))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(main())
    except (ConfigError, OSError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo("venue stopped")
