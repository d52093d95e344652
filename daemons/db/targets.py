"""What is enabled: the accounts and strategies the daemons of one environment run.

Capture records every enabled account's private streams and the market of every enabled
strategy's symbol; the trading daemon runs every enabled strategy of those accounts. Both
ask here, so "enabled" means one thing (an enabled account of an active user, an enabled
strategy of an enabled account) and neither daemon imports the other.

Discovery reads every user's accounts and strategies, so it runs in the admin context,
like an operator command (the daemons serve all tenants): at startup, then on a timer and
on SIGHUP, so that accounts, strategies and rotated credentials take effect without a
restart. Credentials are then decrypted per account inside that account owner's unit of
work, so row-level security applies to the one query that touches secrets; they live in
memory only, as :class:`~daemons.secrets.envelope.Secret` (whose repr hides the value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from daemons.db import credentials
from daemons.db.errors import NotFound
from daemons.db.session import Database
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import Keyring, SecretsError


@dataclass(frozen=True, slots=True)
class StrategyTarget:
    """One enabled strategy as stored (its configuration not yet validated: the daemon
    that runs it validates it, and refuses that strategy alone if it is invalid)."""

    strategy_id: int
    symbol: str
    config: dict[str, Any]
    mode: str = "live"
    caps: dict[str, Any] = field(default_factory=dict)
    latched: str | None = None


@dataclass(frozen=True, slots=True)
class AccountTarget:
    """One enabled account, its decrypted credential (memory only), its enabled strategies."""

    account_id: UUID
    user_id: UUID
    name: str
    credential_id: UUID
    api_key: str
    secret: Secret
    strategies: tuple[StrategyTarget, ...] = ()


@dataclass(frozen=True, slots=True)
class Targets:
    """What is enabled in one environment, and the enabled accounts that cannot run
    (name to reason).

    ``symbols`` are those of every enabled strategy of an enabled account, each once.
    ``other_environments`` counts enabled accounts of other environments, which another
    daemon serves.
    """

    symbols: tuple[str, ...]
    accounts: tuple[AccountTarget, ...]
    refused: tuple[tuple[str, str], ...] = ()
    other_environments: int = 0


def discover(db: Database, keyring: Keyring, environment: str,
             known: Sequence[AccountTarget] = (), *, with_strategies_only: bool = False,
             ) -> Targets:
    """Enabled accounts of active users in ``environment``, with their enabled strategies.

    Accounts without an active credential, or whose credential cannot be decrypted, are
    listed in ``refused`` with the reason. A ``known`` target whose credential is still the
    active one is not decrypted again (a running daemon asks every minute): it is returned
    as it is, or with its strategies as they are now. ``with_strategies_only`` leaves out
    accounts without an enabled strategy before their credential is read (the trading
    daemon has nothing to do with them; capture records them all).
    """
    with db.admin() as conn:
        strategy_rows = conn.execute(
            "SELECT s.account_id, s.strategy_id, s.symbol, s.config_json, s.mode, s.caps,"
            " s.latch_reason FROM strategies s JOIN bybit_accounts a USING (account_id)"
            " WHERE s.is_enabled AND a.status = 'enabled' AND a.environment = %s"
            " ORDER BY s.strategy_id", [environment]).fetchall()
        accounts = conn.execute(
            "SELECT a.account_id, a.user_id, u.username || '/' || a.account_name,"
            " c.credential_id FROM bybit_accounts a JOIN users u USING (user_id)"
            " LEFT JOIN api_credentials c ON c.account_id = a.account_id AND c.is_active"
            " WHERE a.status = 'enabled' AND a.environment = %s AND u.status = 'active'"
            " ORDER BY 3", [environment]).fetchall()
        others = conn.execute(
            "SELECT count(*) FROM bybit_accounts WHERE status = 'enabled' AND environment <> %s",
            [environment]).fetchone()[0]
    strategies: dict[UUID, list[StrategyTarget]] = {}
    for account_id, strategy_id, symbol, config, mode, caps, latched in strategy_rows:
        strategies.setdefault(account_id, []).append(
            StrategyTarget(strategy_id, symbol, dict(config), mode, dict(caps), latched))
    symbols = tuple(sorted({row[2] for row in strategy_rows}))
    unchanged = {(t.account_id, t.credential_id): t for t in known}
    targets, refused = [], []
    for account_id, user_id, name, credential_id in accounts:
        mine = tuple(strategies.get(account_id, ()))
        if with_strategies_only and not mine:
            continue
        same = unchanged.get((account_id, credential_id))
        if same is not None:
            targets.append(same if same.strategies == mine else replace(same, strategies=mine))
            continue
        try:
            with db.unit_of_work(user_id) as conn:
                credential = credentials.load_active_credential(conn, keyring, account_id)
        except (NotFound, SecretsError) as e:
            refused.append((name, str(e)))
            continue
        targets.append(AccountTarget(account_id, user_id, name, credential.credential_id,
                                     credential.api_key_id, credential.secret, mine))
    return Targets(symbols, tuple(targets), tuple(refused), others)
