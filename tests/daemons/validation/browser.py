"""Debian's headless Chromium for report tests: installed when missing
(``tests/fixtures/debian.py``), run with no network features."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fixtures.debian import ensure_program

CHROMIUM = "chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def ensure_chromium() -> str:
    """The chromium binary, installing Debian's package first if it is not there."""
    return ensure_program(CHROMIUM)


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless run with its own profile directory and a virtual time budget long
    enough for plotly to draw every chart."""
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}",
                           "--virtual-time-budget=15000", *args],
                          capture_output=True, text=True, timeout=180, check=True)
