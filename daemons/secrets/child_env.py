"""The environment of every process gridbot starts: without a secret in it.

A process's environment can be read by its user (``/proc/<pid>/environ``) and, for the
PostgreSQL server, from SQL by the database owner (``pg_read_binary_file``). The master
key (``GRIDBOT_MASTER_KEY``) is needed by the gridbot process that decrypts credentials
and by no child: the embedded server, Dagster and every helper get an environment built
here (docs/secrets.md, "Which processes hold the master key").

* :func:`child_environment`: this process's environment minus every secret, for programs
  that need the user's setup (Dagster: PATH, the virtualenv, ``DATABASE_URL``).
* :func:`server_environment`: only the variables a bundled server program needs (the
  search path and the locale), for the embedded PostgreSQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from daemons.secrets.keys import ENV_VAR
from daemons.secrets.redaction import SENSITIVE_NAME

#: Variables the embedded PostgreSQL programs may see (and every ``LC_*``).
SERVER_VARIABLES = frozenset({"PATH", "LD_LIBRARY_PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR"})
#: Variables never passed to a child, whatever their name says: libpq's password too.
SECRET_VARIABLES = frozenset({ENV_VAR, "PGPASSWORD"})
_SENSITIVE = re.compile(SENSITIVE_NAME, re.IGNORECASE)


def is_secret_variable(name: str) -> bool:
    """Whether ``name`` holds a secret: a known one, or a name such as ``*_API_KEY``,
    ``*TOKEN*`` or ``*PASSWORD*`` (the words the log redaction masks)."""
    return name in SECRET_VARIABLES or _SENSITIVE.search(name) is not None


def child_environment(extra: Mapping[str, str] | None = None,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) without secrets, plus ``extra``."""
    environ = os.environ if environ is None else environ
    env = {name: value for name, value in environ.items() if not is_secret_variable(name)}
    env.update(extra or {})
    return env


def server_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Only the search path and locale of ``environ``: a server needs nothing else."""
    environ = os.environ if environ is None else environ
    return {name: value for name, value in environ.items()
            if name in SERVER_VARIABLES or name.startswith("LC_")}
