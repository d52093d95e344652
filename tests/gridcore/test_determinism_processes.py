"""Determinism across processes: live and replay run in different interpreters.

The in-process determinism property (test_engine_properties.py) runs both engines under
one string-hash seed, and ``make test`` fixes ``PYTHONHASHSEED=0``. Here a short drive runs
in fresh interpreters under different hash seeds, so any dependence on the iteration
order of a set or dict of strings would change the digest of the intents, fills and saved
state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DRIVE = """
import hashlib, json
from gridcore.config import GridConfig
from tests.gridcore.driver import drive, new_engine, random_walk

config = GridConfig(amount="x0.002", grid_count=20, grid_step_pct=0.3, long_koef=1.5,
                    position_check_interval_ms=5_000)
log, engine, broker = drive(new_engine(config), random_walk(7, 1_500), ack_delay_events=2,
                            latency_ms=1_500)
digest = hashlib.sha256()
for intents in log:
    digest.update(repr(intents).encode())
digest.update(repr(broker.fills).encode())
digest.update(json.dumps(engine.save_state()).encode())
intents = sum(len(i) for i in log)
print(f"{digest.hexdigest()} intents={intents} fills={len(broker.fills)}")
"""

#: Prints the iteration order of a set of strings: differs between hash seeds.
SET_ORDER = "print(list({f'order-{i}' for i in range(20)}))"


def _run(script: str, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_drive_digest_is_identical_under_different_hash_seeds() -> None:
    first, second = _run(DRIVE, "1"), _run(DRIVE, "2")
    assert first == second
    counts = dict(part.split("=") for part in first.split()[1:])
    assert int(counts["intents"]) > 50 and int(counts["fills"]) > 10, "the drive trades"


def test_hash_seed_reaches_the_subprocess() -> None:
    """The test above would prove nothing if both processes hashed strings alike."""
    assert _run(SET_ORDER, "1") != _run(SET_ORDER, "2")
