"""What to trade: enabled accounts of an environment, their credentials and strategies.

Discovery reads every tenant's accounts, so it runs in the admin context (the daemon
serves all users); each credential is then decrypted in its owner's unit of work, so
row-level security applies to the one query that touches secrets. Secrets live in memory
only (:class:`~daemons.secrets.envelope.Secret` hides them from reprs). An account whose
credential is unchanged is not decrypted again (the daemon asks every minute).
"""

from __future__ import annotations

from collections.abc import Sequence

from daemons.db import credentials
from daemons.db.errors import NotFound
from daemons.db.session import Database
from daemons.secrets.keys import Keyring, SecretsError
from daemons.trading.daemon import TradeTargets
from daemons.trading.worker import AccountSpec, StrategySpec


def discover(db: Database, keyring: Keyring, environment: str,
             known: Sequence[AccountSpec] = ()) -> TradeTargets:
    """Enabled accounts of active users in ``environment`` with their enabled strategies.

    An enabled account without an active credential (or one that cannot be decrypted) is
    refused with the reason; one without an enabled strategy is not traded.
    """
    with db.admin() as conn:
        accounts = conn.execute(
            "SELECT a.account_id, a.user_id, u.username || '/' || a.account_name,"
            " c.credential_id FROM bybit_accounts a JOIN users u USING (user_id)"
            " LEFT JOIN api_credentials c ON c.account_id = a.account_id AND c.is_active"
            " WHERE a.status = 'enabled' AND a.environment = %s AND u.status = 'active'"
            " ORDER BY 3", [environment]).fetchall()
        rows = conn.execute(
            "SELECT s.account_id, s.strategy_id, s.symbol, s.config_json, s.mode, s.caps,"
            " s.latch_reason FROM strategies s JOIN bybit_accounts a USING (account_id)"
            " WHERE s.is_enabled AND a.status = 'enabled' AND a.environment = %s"
            " ORDER BY s.strategy_id", [environment]).fetchall()
    strategies: dict = {}
    for account_id, strategy_id, symbol, config, mode, caps, latch in rows:
        strategies.setdefault(account_id, []).append(
            StrategySpec(strategy_id, symbol, dict(config), mode, dict(caps), latch))
    unchanged = {(k.account_id, k.credential_id): k for k in known}
    found, refused = [], []
    for account_id, user_id, name, credential_id in accounts:
        mine = tuple(strategies.get(account_id, ()))
        if not mine:
            continue
        known_spec = unchanged.get((account_id, credential_id))
        if known_spec is not None:
            found.append(AccountSpec(account_id, user_id, name, credential_id,
                                     known_spec.api_key, known_spec.secret, mine))
            continue
        try:
            with db.unit_of_work(user_id) as conn:
                credential = credentials.load_active_credential(conn, keyring, account_id)
        except (NotFound, SecretsError) as e:
            refused.append((name, str(e)))
            continue
        found.append(AccountSpec(account_id, user_id, name, credential.credential_id,
                                 credential.api_key_id, credential.secret, mine))
    return TradeTargets(tuple(found), tuple(refused))
