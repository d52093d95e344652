"""`gridbot dagster`: the Dagster UI and daemon on this project, with PostgreSQL storage."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer


def dagster(
    host: str = typer.Option("127.0.0.1", "--host", help="Address of the Dagster UI."),
    port: int = typer.Option(3000, "--port", min=1, max=65535, help="Port of the Dagster UI."),
    home: Path | None = typer.Option(
        None, "--dagster-home", file_okay=False,
        help="Dagster's state directory (default: GRIDBOT_HOME/dagster)."),
) -> None:
    """Start `dagster dev` on gridbot's code location, storing runs in PostgreSQL."""
    from daemons.dagster_env import dagster_environment
    from daemons.db.cli_support import cli_errors, open_database
    from daemons.db.settings import gridbot_home

    repo = Path(__file__).resolve().parents[2]
    with cli_errors():
        env = dagster_environment(open_database(migrated=True), home or gridbot_home() / "dagster")
    executable = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    typer.echo(f"Dagster UI on http://{host}:{port} (state in {env['DAGSTER_HOME']})", err=True)
    os.chdir(repo)
    os.execve(executable, [executable, "dev", "-w", str(repo / "workspace.yaml"),
                           "-h", host, "-p", str(port)], {**os.environ, **env})
