"""The master keys a command may use, checked against what the database expects.

A key directory without a key gets its first key here only while the database holds no
encrypted credential: then no older key can be missing. Otherwise the directory is the
wrong one (a mistyped ``GRIDBOT_KEY_DIR``, another ``GRIDBOT_HOME``), and creating a key
there would let the next ``credentials add`` store a secret under a stray key: refuse,
naming the directory and the key ids the credentials are encrypted under.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from daemons.db import credentials
from daemons.db.session import Database
from daemons.secrets.keys import (
    DIR_ENV_VAR,
    ENV_VAR,
    Keyring,
    MissingKeyError,
    NoMasterKey,
    load_keyring,
)


def open_keyring(db: Database, home: Path, *, create: bool = True,
                 environ: Mapping[str, str] | None = None) -> Keyring:
    """The configured keyring; with ``create``, a first key for a credential-free database.

    ``environ`` (default: this process's) says where the keys are. Raises
    :class:`NoMasterKey` (nothing to create, or ``create`` is off) or
    :class:`MissingKeyError` (the database expects keys the directory does not hold).
    """
    try:
        return load_keyring(home, environ)
    except NoMasterKey as missing:
        with db.admin() as conn:
            expected = sorted(credentials.count_by_key(conn))
        if expected:
            raise MissingKeyError(
                f"no master key in {missing.directory}, but the database's credentials are "
                f"encrypted under {', '.join(expected)}: point {DIR_ENV_VAR} (or GRIDBOT_HOME)"
                f" at the directory that holds them, or set {ENV_VAR}") from None
        if not create:
            raise
    return load_keyring(home, environ, create=True)


def open_key_directory(db: Database, home: Path) -> Keyring:
    """The key directory's keyring (``GRIDBOT_KEY_DIR`` or ``home/keys``), never a key
    from the environment, and never a new key.

    For Dagster's runs: no Dagster process may hold ``GRIDBOT_MASTER_KEY`` in its
    environment (docs/secrets.md), so an asset that needs a credential reads the keys from
    the directory inside its run, keeps them in memory for that run only, and ignores the
    variable even where someone exported it to a plain ``dagster dev``.
    """
    environ = {name: value for name, value in os.environ.items() if name != ENV_VAR}
    return open_keyring(db, home, create=False, environ=environ)
