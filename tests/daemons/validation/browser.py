"""Debian's headless Chromium for report tests: installed when missing
(``tests/fixtures/debian.py``), run with no network features."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
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


def dom_and_screenshot(binary: str, url: str, shot: Path, *, size: str = "1600,1000",
                       min_bytes: int = 20_000) -> str:
    """The rendered DOM of ``url``, and a screenshot of it at ``shot`` (a test artifact;
    at least ``min_bytes``: a blank page compresses to a few KB)."""
    shot.parent.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="gridbot-chromium-"))
    try:
        dom = run_chromium(binary, profile / "dom", f"--window-size={size}", "--dump-dom",
                           url).stdout
        shot.unlink(missing_ok=True)
        run_chromium(binary, profile / "shot", f"--window-size={size}",
                     f"--screenshot={shot}", url)
        assert shot.stat().st_size > min_bytes
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return dom
