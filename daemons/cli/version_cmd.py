"""`gridbot version`."""

from __future__ import annotations

from importlib.metadata import version as package_version

import typer

from gridcore.version import GRIDCORE_VERSION


def version() -> None:
    """Print the installed package version and the gridcore version."""
    typer.echo(f"gridbot {package_version('gridbot')}")
    typer.echo(f"gridcore {GRIDCORE_VERSION}")
