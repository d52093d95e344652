"""The demo's injected fault: a replay that assumes another engine than the live one ran.

A replay rebuilds a run's engine from the run's engine snapshots (docs/validation.md).
Rewriting the grid step those snapshots carry makes every replay of the run assume a
grid step the live engine never traded with: the deployment mistake "the backtest was
configured differently from the bot". The comparison must find it and name it engine
divergence, with the first decision where the two engines part. Only the demo does this,
on its own throwaway database, after trading has stopped.
"""

from __future__ import annotations

from uuid import UUID

from daemons.db.session import Database

#: The grid step (percent) the replay is made to assume; the demo's grids trade 0.02.
ASSUMED_GRID_STEP = 0.05


def assume_another_grid_step(db: Database, username: str, symbol: str,
                             grid_step: float = ASSUMED_GRID_STEP) -> UUID:
    """Rewrite the snapshots of ``username``'s newest live run on ``symbol``; its run id."""
    with db.admin() as conn:
        row = conn.execute(
            "SELECT r.run_id FROM runs r JOIN users u USING (user_id)"
            " JOIN strategies s USING (strategy_id, user_id)"
            " WHERE u.username = %s AND s.symbol = %s AND r.run_type = 'live'"
            " ORDER BY r.start_ts DESC LIMIT 1", [username, symbol]).fetchone()
        if row is None:
            raise LookupError(f"no live run of {username} on {symbol} to inject into")
        updated = conn.execute(
            "UPDATE engine_snapshots SET state = jsonb_set(state, '{config,grid_step_pct}',"
            " to_jsonb(%s::float8)) WHERE run_id = %s", [grid_step, row[0]]).rowcount
        if updated == 0:
            raise LookupError(f"the run of {username} on {symbol} has no engine snapshot")
    return row[0]
