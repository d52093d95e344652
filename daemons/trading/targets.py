"""What to trade: enabled accounts of an environment, their credentials and strategies.

Discovery reads every tenant's accounts, so it runs in the admin context (the daemon
serves all users); each credential is then decrypted in its owner's unit of work, so
row-level security applies to the one query that touches secrets. Secrets live in memory
only (:class:`~daemons.secrets.envelope.Secret` hides them from reprs). An account whose
credential is unchanged is not decrypted again (the daemon asks every minute).
"""

from __future__ import annotations

from collections.abc import Sequence

from daemons.db import targets
from daemons.db.session import Database
from daemons.secrets.keys import Keyring
from daemons.trading.daemon import TradeTargets
from daemons.trading.worker import AccountSpec


def discover(db: Database, keyring: Keyring, environment: str,
             known: Sequence[AccountSpec] = ()) -> TradeTargets:
    """Enabled accounts of active users in ``environment`` with their enabled strategies.

    An enabled account without an active credential (or one that cannot be decrypted) is
    refused with the reason; one without an enabled strategy is not traded.
    """
    found = targets.discover(db, keyring, environment, known, with_strategies_only=True)
    return TradeTargets(found.accounts, found.refused)
