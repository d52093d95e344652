"""What to capture: the symbols of enabled strategies and the enabled accounts' credentials.

Discovery reads every user's accounts and strategies, so it runs in the admin context,
like an operator command (the daemon serves all tenants): at startup, then on a timer and
on SIGHUP, so that accounts, strategies and rotated credentials take effect without a
restart. Credentials
are then decrypted per account inside that account owner's unit of work, so row-level
security applies to the one query that touches secrets; they live in memory only, as
:class:`~daemons.secrets.envelope.Secret` (whose repr hides the value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from daemons.db import credentials
from daemons.db.errors import NotFound
from daemons.db.session import Database
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import Keyring, SecretsError


@dataclass(frozen=True, slots=True)
class AccountTarget:
    """One account to capture; ``secret`` is decrypted, in memory only."""

    account_id: UUID
    user_id: UUID
    name: str
    credential_id: UUID
    api_key: str
    secret: Secret

    @property
    def label(self) -> str:
        return f"private:{self.name}"


@dataclass(frozen=True, slots=True)
class Targets:
    """What to capture, and the enabled accounts that cannot be (name to reason).

    ``other_environments`` counts enabled accounts of other environments, which another
    daemon captures.
    """

    symbols: tuple[str, ...]
    accounts: tuple[AccountTarget, ...]
    refused: tuple[tuple[str, str], ...] = ()
    other_environments: int = 0


def discover(db: Database, keyring: Keyring, environment: str,
             known: Sequence[AccountTarget] = ()) -> Targets:
    """Enabled strategies' symbols (each once) and enabled accounts of ``environment``.

    Accounts without an active credential, or whose credential cannot be decrypted, are
    listed in ``refused`` with the reason; the others are captured. A ``known`` target whose
    credential is still the active one is returned as it is, not decrypted again (a
    running daemon asks every minute).
    """
    with db.admin() as conn:
        symbols = [r[0] for r in conn.execute(
            "SELECT DISTINCT s.symbol FROM strategies s JOIN bybit_accounts a USING (account_id)"
            " WHERE s.is_enabled AND a.status = 'enabled' AND a.environment = %s"
            " ORDER BY 1", [environment])]
        accounts = conn.execute(
            "SELECT a.account_id, a.user_id, u.username || '/' || a.account_name,"
            " c.credential_id FROM bybit_accounts a JOIN users u USING (user_id)"
            " LEFT JOIN api_credentials c ON c.account_id = a.account_id AND c.is_active"
            " WHERE a.status = 'enabled' AND a.environment = %s AND u.status = 'active'"
            " ORDER BY 3", [environment]).fetchall()
        others = conn.execute(
            "SELECT count(*) FROM bybit_accounts WHERE status = 'enabled' AND environment <> %s",
            [environment]).fetchone()[0]
    unchanged = {(t.account_id, t.credential_id): t for t in known}
    targets, refused = [], []
    for account_id, user_id, name, credential_id in accounts:
        if (account_id, credential_id) in unchanged:
            targets.append(unchanged[account_id, credential_id])
            continue
        try:
            with db.unit_of_work(user_id) as conn:
                credential = credentials.load_active_credential(conn, keyring, account_id)
        except (NotFound, SecretsError) as e:
            refused.append((name, str(e)))
            continue
        targets.append(AccountTarget(account_id, user_id, name, credential.credential_id,
                                     credential.api_key_id, credential.secret))
    return Targets(tuple(symbols), tuple(targets), tuple(refused), others)
