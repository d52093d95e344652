"""`gridbot dagster`: the Dagster UI and daemon on this project, with PostgreSQL storage."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import typer

#: A host name (RFC 1123 labels) or an IPv4/IPv6 address, as ``dagster dev -h`` takes it.
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


def _host(text: str) -> str:
    """Refuse what is neither a host name nor an IP address (before anything starts)."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        if _HOST.fullmatch(text):
            return text
    raise typer.BadParameter(f"{text[:80]!r} is not a host name or IP address",
                             param_hint="--host")


def dagster(
    host: str = typer.Option("127.0.0.1", "--host", help="Address of the Dagster UI."),
    port: int = typer.Option(3000, "--port", min=1, max=65535, help="Port of the Dagster UI."),
    home: Path | None = typer.Option(
        None, "--dagster-home", file_okay=False,
        help="Dagster's state directory (default: GRIDBOT_HOME/dagster)."),
) -> None:
    """Start `dagster dev` on gridbot's code location, storing runs in PostgreSQL.

    Dagster runs with this process's environment minus every secret: it never holds the
    master key (docs/secrets.md). This process becomes the supervisor of `dagster dev`
    (``daemons/process_group.py``), so SIGTERM or Ctrl-C stops every process Dagster
    started, not only `dagster dev`.
    """
    from daemons.cli.support import cli_errors, fail, open_database
    from daemons.dagster_env import dagster_environment
    from daemons.db.settings import gridbot_home
    from daemons.secrets.child_env import child_environment

    host = _host(host)
    repo = Path(__file__).resolve().parents[2]
    state = gridbot_home() / "dagster" if home is None else home
    with cli_errors():
        try:
            env = dagster_environment(open_database(migrated=True), state)
        except OSError as e:
            fail(f"cannot use {state} as Dagster's state directory: "
                 f"{e.strerror or type(e).__name__}")
    executable = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    typer.echo(f"Dagster UI on http://{host}:{port} (state in {env['DAGSTER_HOME']})", err=True)
    os.chdir(repo)
    os.execve(sys.executable, [sys.executable, "-m", "daemons.process_group", executable, "dev",
                               "-w", str(repo / "workspace.yaml"), "-h", host, "-p", str(port)],
              child_environment(env))
