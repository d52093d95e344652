"""Debian's headless Chromium for report tests: installed when missing (a failed install
fails the test loudly, never skips it), run with no network features."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = "chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def ensure_chromium() -> str:
    """The chromium binary, installing Debian's package first if it is not there."""
    found = shutil.which(CHROMIUM)
    if found is not None:
        return found
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", CHROMIUM]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    found = shutil.which(CHROMIUM)
    if found is None:
        raise RuntimeError("chromium installed but not on PATH")
    return found


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless run with its own profile directory and a virtual time budget long
    enough for plotly to draw every chart."""
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}",
                           "--virtual-time-budget=15000", *args],
                          capture_output=True, text=True, timeout=180, check=True)
