"""Master-key rotation: re-wrap every data key under a new master key, resumably.

Key directory (default): the new key is created and recorded as ``PENDING`` *before* any
row changes; rows are re-wrapped in small committed batches; then ``ACTIVE`` moves to the
new key and a last pass catches rows written under the old key meanwhile. Interrupted
anywhere, every row is under the old or the new key and both key files remain, so running
``gridbot keys rotate`` again resumes with the same pending key and finishes.

``GRIDBOT_MASTER_KEY`` (environment): the operator puts the new key first and the old
one(s) after it (``NEW,OLD``); rotation re-wraps every row to the first key. Rerunning is
just as safe. Secrets are never decrypted, only data keys, and nothing is written in clear.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from daemons.db import credentials
from daemons.db.keyring import open_keyring
from daemons.db.session import Database
from daemons.secrets.keys import (
    ENV_VAR,
    KeyDirectory,
    Keyring,
    MasterKey,
    key_directory,
    load_keyring,
)


@dataclass(frozen=True, slots=True)
class RotationReport:
    target_key_id: str
    rewrapped: int
    retired_key_ids: tuple[str, ...]


def rotate_master_key(db: Database, home: Path, *, batch_size: int = 100,
                      stop_after_batches: int | None = None) -> RotationReport:
    """Move every credential to a new master key (see the module docstring).

    ``stop_after_batches`` simulates an interruption (tests and drills): the function
    returns after that many batches, leaving the rotation pending.
    """
    if os.environ.get(ENV_VAR):
        keyring = load_keyring(home)
        target, directory = keyring.active, None
    else:
        directory = KeyDirectory(key_directory(home))
        open_keyring(db, home)  # a first key only while no credential needs an older one
        target = directory.begin_rotation()
        keyring = directory.load()
    old_ids = tuple(k for k in keyring.keys if k != target.key_id)
    done, batches = _rewrap_all(db, keyring, target, batch_size, stop_after_batches)
    if stop_after_batches is not None and batches >= stop_after_batches:
        return RotationReport(target.key_id, done, ())
    if directory is not None:
        directory.complete_rotation(target.key_id)
        more, _ = _rewrap_all(db, directory.load(), target, batch_size, None)
        done += more
    return RotationReport(target.key_id, done, old_ids)


def retire_unused_keys(db: Database, home: Path) -> list[str]:
    """Delete key files that no credential needs any more (key directory only)."""
    if os.environ.get(ENV_VAR):
        return []
    directory = KeyDirectory(key_directory(home))
    keyring = directory.load()
    with db.admin() as conn:
        in_use = credentials.count_by_key(conn)
    retired = []
    for key_id in sorted(keyring.keys):
        if key_id != keyring.active.key_id and key_id != directory.pending_id() \
                and key_id not in in_use:
            directory.remove_key(key_id)
            retired.append(key_id)
    return retired


def _rewrap_all(db: Database, keyring: Keyring, target: MasterKey, batch_size: int,
                stop_after: int | None) -> tuple[int, int]:
    total = batches = 0
    while stop_after is None or batches < stop_after:
        with db.admin() as conn:
            moved = credentials.rewrap_batch(conn, keyring, target, batch_size)
        if moved == 0:
            break
        total += moved
        batches += 1
    return total, batches
