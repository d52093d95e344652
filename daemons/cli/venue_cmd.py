"""`gridbot venue`: serve the local Bybit v5 venue on loopback until Ctrl-C or SIGTERM.

Secrets come only from the accounts file, never from the command line. Heavy imports
stay inside the command so that ``gridbot --help`` answers at once.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from daemons.venue.limits import (
    MAX_DEPTH_QTY,
    MAX_FUNDING_INTERVAL_S,
    MAX_LATENCY_MS,
    MAX_SEED,
    SPEED_RANGE,
)

if TYPE_CHECKING:
    from daemons.venue.config import AccountSpec
    from daemons.venue.instruments import Instrument

FaultFlag = tuple[str, float, "str | None", dict[str, str]]

FAULT_HELP = (
    "Start with a fault active: KIND=SECONDS[,option=value...], repeatable. KIND is one of "
    "http_5xx (option status), rate_limit, auth_reject, ack_delay (option ms), "
    "stall_public, stall_private (option mode=hold|drop); account=NAME narrows it."
)


LOOPBACK = ("127.0.0.1", "::1", "localhost")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
REMOTE_WARNING = (
    "WARNING: --host {host} is not loopback. /admin has NO authentication: anyone who can "
    "reach {host}:{port} can inject trades, pause the tape and switch faults on."
)


def _shown(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters: a 10k-character value must not flood the error."""
    from daemons.venue.config import shown

    return shown(text, limit)


def _parse_fault(text: str) -> FaultFlag:
    """``KIND=SECONDS[,option=value...]``, every part checked (see ``faults.check_options``)."""
    from daemons.venue.faults import check_options

    head, *opts = text.split(",")
    kind, _, seconds = head.partition("=")
    try:
        duration = float(seconds)
    except ValueError:
        duration = float("nan")  # refused below with the kind's own message
    pairs = [o.partition("=") for o in opts if o]
    if any(not sep or not value for _, sep, value in pairs):
        raise typer.BadParameter(f"{_shown(repr(text))}: options are option=value",
                                 param_hint="--fault")
    options = {name: value for name, _, value in pairs}
    account = options.pop("account", None)
    try:
        check_options(kind, duration, options)
    except ValueError as e:
        raise typer.BadParameter(f"{_shown(repr(text))}: {_shown(str(e), 200)}",
                                 param_hint="--fault") from e
    return kind, duration, account, options


def _funding_rate(text: str) -> Decimal:
    """Parse ``--funding-rate`` strictly: finite, within the instrument's fundingCap."""
    from daemons.venue.config import ConfigError, check_funding_rate

    try:
        rate = Decimal(text)
        check_funding_rate(rate)
    except (InvalidOperation, ConfigError) as e:
        detail = str(e) if isinstance(e, ConfigError) else f"{_shown(repr(text))} is not a number"
        raise typer.BadParameter(detail, param_hint="--funding-rate") from e
    return rate


def _symbols(text: str) -> tuple[Instrument, ...]:
    """Parse ``--symbols`` (``BTCUSDT,ETHUSDT:0.5``): known symbols, rates within bounds."""
    from daemons.venue.config import ConfigError, check_instrument, parse_symbols

    try:
        chosen = parse_symbols(text)
        for instrument in chosen:
            check_instrument(instrument)
    except ConfigError as e:
        raise typer.BadParameter(_shown(str(e), 200), param_hint="--symbols") from e
    return chosen


def _fault_accounts(
    faults: list[FaultFlag], accounts: tuple[AccountSpec, ...],
) -> list[FaultFlag]:
    """Resolve each fault's ``account`` (name or API key) to a name, or refuse it.

    Faults are looked up by account name, so an unknown name or a key left as given
    would be a fault that applies to no one.
    """
    names = {spec.name: spec.name for spec in accounts}
    names.update({key: spec.name for spec in accounts for key in spec.keys()})
    resolved = []
    for kind, duration, account, options in faults:
        if account is not None and account not in names:
            raise typer.BadParameter(f"{kind}: unknown account {_shown(repr(account))}",
                                     param_hint="--fault")
        resolved.append((kind, duration, names.get(account or ""), options))
    return resolved


def _check_host(host: str, port: int, allow_remote: bool) -> None:
    """Refuse what is not an address or host name, and a non-loopback one unless asked
    for; then say loudly what listening there means."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if _HOST_NAME.match(host) is None:
            raise typer.BadParameter(f"{_shown(repr(host))} is not an IP address or host name",
                                     param_hint="--host") from None
    if host in LOOPBACK:
        return
    if not allow_remote:
        raise typer.BadParameter(
            f"{host!r} is not loopback and /admin has no authentication; "
            "add --allow-remote to listen there anyway", param_hint="--host")
    typer.echo(REMOTE_WARNING.format(host=host, port=port), err=True)


def venue(
    accounts: Path = typer.Option(
        ..., "--accounts",  # checked by load_accounts, which cuts a 10k-character path
        help="YAML or JSON accounts file: a list of {name, api_key, api_secret, usdt}."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback)."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote",
        help="Allow a non-loopback --host although /admin has no authentication."),
    port: int = typer.Option(8090, "--port", min=0, max=65535,
                             help="TCP port for REST, WebSocket and /admin (0: any free)."),
    tape: str = typer.Option("generated", "--tape",
                             help="generated | bars | path to a trades or bars CSV."),
    symbols: str = typer.Option(
        "BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT", "--symbols",
        help="Listed linear symbols, comma-separated, the first the default; SYMBOL:RATE sets "
             "a symbol's tape rate (share of the bundled tape's trades per second). Known: "
             "BTCUSDT, ETHUSDT, SOLUSDT, XRPUSDT."),
    seed: int = typer.Option(1, "--seed", min=0, max=MAX_SEED,
                             help="Seed of the tape, depth and latency draws."),
    speed: float = typer.Option(1.0, "--speed", min=SPEED_RANGE[0], max=SPEED_RANGE[1],
                                help="Tape speed factor, e.g. 60 plays a minute per second."),
    funding_rate: str = typer.Option(
        "0.0001", "--funding-rate",
        help="Funding rate charged at each funding time (within ±0.005, the fundingCap)."),
    funding_interval_s: int = typer.Option(28800, "--funding-interval-s", min=1,
                                           max=MAX_FUNDING_INTERVAL_S,
                                           help="Seconds of tape time between fundings."),
    cross_policy: str = typer.Option("taker", "--cross-policy",
                                     help="A crossing GTC limit order: taker | reject."),
    latency_ms: float = typer.Option(15.0, "--latency-ms", min=0.0, max=MAX_LATENCY_MS,
                                     help="Median order latency in ms (lognormal)."),
    depth_median_qty: float = typer.Option(2.0, "--depth-median-qty", min=0.0,
                                           max=MAX_DEPTH_QTY,
                                           help="Median hidden size per price level (BTC; other "
                                                "symbols: the same notional)."),
    start_paused: bool = typer.Option(False, "--start-paused",
                                      help="Start with the tape paused (resume via /admin)."),
    fault: list[str] = typer.Option([], "--fault", help=FAULT_HELP),
) -> None:
    """Serve a local Bybit v5 venue (REST, WebSocket, /admin faults) until interrupted."""
    import asyncio
    import signal

    from daemons.cli.support import USAGE_ERROR, fail
    from daemons.venue.clock import wall_ms
    from daemons.venue.config import ConfigError, VenueConfig, load_accounts
    from daemons.venue.server import VenueServer, serve

    _check_host(host, port, allow_remote)
    rate = _funding_rate(funding_rate)
    listed = _symbols(symbols)
    parsed = [_parse_fault(f) for f in fault]
    try:
        config = VenueConfig(
            accounts=load_accounts(accounts), host=host, port=port, tape=tape, seed=seed,
            symbols=listed, speed=speed, funding_rate=rate,
            funding_interval_s=funding_interval_s, cross_policy=cross_policy,
            latency_ms_median=latency_ms, depth_median_qty=depth_median_qty,
            start_paused=start_paused,
        )
    except ConfigError as e:
        fail(str(e), exit_code=USAGE_ERROR)
    faults = _fault_accounts(parsed, config.accounts)

    def ready(server: VenueServer) -> None:
        for kind, duration, account, options in faults:
            server.faults.set(kind, wall_ms() + int(duration * 1000), account, options)
        base = server.base_url
        typer.echo(f"venue REST       {base}")
        typer.echo(f"venue public WS  {base.replace('http', 'ws')}/v5/public/linear")
        typer.echo(f"venue private WS {base.replace('http', 'ws')}/v5/private")
        typer.echo(f"venue admin      {base}/admin/status")
        names = ", ".join(i.symbol for i in config.symbols)
        typer.echo(f"tape {tape} at {speed}x for {names}, {len(config.accounts)} account(s); "
                   "Ctrl-C to stop")

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
        fail(str(e), exit_code=USAGE_ERROR)
    typer.echo("venue stopped")
