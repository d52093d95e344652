"""Every enabled account's private data of one UTC day, reconciled with the exchange.

Per account (of the configured environment, with its credential decrypted inside this
run from the key directory): the capture gaps listed for it that day are fetched again
from REST and its executions counted again (``reconcile.py``). The asset's metadata is a
table of accounts; an account the run could not reconcile (REST down, key revoked) fails
the run after the others are done, so the run-failure sensor alerts.
"""

import dagster as dg

from daemons.db.settings import gridbot_home
from gridbot_pipelines.constants import ACCOUNTS, NIGHTLY
from gridbot_pipelines.defs.accounts.reconcile import reconcile_day
from gridbot_pipelines.partitions import DAILY
from gridbot_pipelines.resources import BybitResource, DatabaseResource


@dg.asset(group_name=ACCOUNTS, partitions_def=DAILY, tags=NIGHTLY, kinds={"postgres"})
def reconciled_account_data(context: dg.AssetExecutionContext, database: DatabaseResource,
                            bybit: BybitResource) -> dg.MaterializeResult:
    """Orders, executions, positions and wallets of the day, capture gaps fetched again."""
    day = context.partition_key
    db = database.db
    targets = bybit.accounts(db)
    market = bybit.market() if targets.accounts else None
    done, failed = [], {}
    for target in targets.accounts:
        try:
            done.append(reconcile_day(db, target, bybit.client(target), market, day,
                                      gridbot_home() / "dagster" / "spill"))
        except Exception as e:  # one account's failure must not cost the others
            failed[target.name] = f"{type(e).__name__}: {str(e)[:200]}"
            context.log.error(f"{target.name}: not reconciled ({failed[target.name]})")
    table = ["| account | gaps | capture left unfilled | executions before | after |",
             "|---|---|---|---|---|"]
    table += [f"| {r.account} | {r.gaps} | {r.gaps_filled} | {r.executions_before} | "
              f"{r.executions_after} |" for r in done]
    metadata = {
        "accounts": len(done), "gaps": sum(r.gaps for r in done),
        "gaps_filled": sum(r.gaps_filled for r in done),
        "executions_recovered": sum(r.recovered for r in done),
        "executions": sum(r.executions_after for r in done),
        "by_account": dg.MetadataValue.md("\n".join(table)),
        "not_reconciled": dg.MetadataValue.json(
            {**failed, **dict(targets.refused)}),
    }
    if failed:
        raise dg.Failure(description=f"{len(failed)} account(s) not reconciled: "
                         f"{', '.join(sorted(failed))}", metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)
