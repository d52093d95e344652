"""A digest of a replay's results: equal digests mean byte-identical results.

Used to prove determinism (the same inputs and parameters give the same digest) and to
tell quickly whether two stored backtests differ.
"""

from __future__ import annotations

import hashlib
import json

from gridcore.engine import GridEngine
from gridcore.sim.broker import SimBroker
from gridcore.sim.replay import ReplayResult


def result_digest(result: ReplayResult, engine: GridEngine, broker: SimBroker) -> str:
    """SHA-256 over the fills, the equity curve and the summary, in canonical JSON."""
    payload = {
        "summary": result.summary(engine, broker),
        "fills": [[f.ts, f.exec_id, f.order_id, f.order_link_id, f.side, str(f.price),
                   str(f.qty), str(f.fee), str(f.realised_pnl), f.position_idx]
                  for f in broker.fills],
        "equity": [[p.ts, str(p.balance), str(p.unrealised_pnl), str(p.equity)]
                   for p in result.equity_curve],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
