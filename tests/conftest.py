"""Root conftest: plugins every test package can use.

* ``tests/fixtures/postgres.py``: throwaway embedded PostgreSQL (``pg_server``, ``db``,
  ``db_env``), for the data layer and for the capture and backtest tests that need it.
* ``tests/fixtures/leak_guard.py``: the whole suite's logs and output are checked for
  secrets; a leak fails the test that produced it.
* ``tests/fixtures/secrets.py``: test secrets and master keys the guard watches.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `tests.fixtures...` must import however pytest was started (python -m pytest or pytest).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

pytest_plugins = [
    "pytester",
    "tests.fixtures.leak_guard",
    "tests.fixtures.postgres",
    "tests.fixtures.secrets",
]
