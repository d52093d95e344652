"""The master keys a command may use, checked against what the database expects.

A key directory without a key gets its first key here only while the database holds no
encrypted credential: then no older key can be missing. Otherwise the directory is the
wrong one (a mistyped ``GRIDBOT_KEY_DIR``, another ``GRIDBOT_HOME``), and creating a key
there would let the next ``credentials add`` store a secret under a stray key: refuse,
naming the directory and the key ids the credentials are encrypted under.
"""

from __future__ import annotations

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


def open_keyring(db: Database, home: Path, *, create: bool = True) -> Keyring:
    """The configured keyring; with ``create``, a first key for a credential-free database.

    Raises :class:`NoMasterKey` (nothing to create, or ``create`` is off) or
    :class:`MissingKeyError` (the database expects keys the directory does not hold).
    """
    try:
        return load_keyring(home)
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
    return load_keyring(home, create=True)
