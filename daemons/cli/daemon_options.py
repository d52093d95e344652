"""Options every long-running daemon command takes (`gridbot capture`, `gridbot trade`).

One definition each, so the two commands name, bound and explain them alike. The upper
bounds matter: past them a value is a typo, and infinity would end the thread that waits
on it while the daemon ran on without it (NaN fails every bound).
"""

from __future__ import annotations

import typer

DAY_S = 86_400.0
MAX_DURATION_S = 366 * DAY_S
MAX_RATE = 1_000

VENUE_URL = typer.Option(
    None, "--venue-url",
    help="The local venue's REST URL (environment local); default GRIDBOT_LOCAL_VENUE_URL.")
DURATION_S = typer.Option(0.0, "--duration-s", min=0.0, max=MAX_DURATION_S,
                          help="Stop after this many seconds (0: run until stopped).")
REFRESH_INTERVAL_S = typer.Option(
    60.0, "--refresh-interval-s", min=1.0, max=DAY_S,
    help="Seconds between re-reading enabled accounts, strategies and credentials "
         "(SIGHUP: now).")
ORDER_RATE = typer.Option(10, "--order-rate", min=1, max=MAX_RATE,
                          help="Order requests per second per account (REST).")
QUERY_RATE = typer.Option(20, "--query-rate", min=1, max=MAX_RATE,
                          help="Queries per second per account (REST).")


def environment_option(what: str) -> typer.models.OptionInfo:
    """``--environment``, saying what the daemon does with it."""
    return typer.Option("local", "--environment", "-e",
                        help=f"Which exchange to {what}: mainnet | testnet | local (accounts "
                             "of the others are left to their own daemons).")
