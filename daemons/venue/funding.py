"""Funding every interval of tape time, from the configured rate.

Funding follows the tape's own clock (00:00, 08:00, 16:00 UTC of the tape's dates), so a
bars tape at 60x pays funding every 8 minutes of wall time, as a replay should.
"""

from __future__ import annotations

from decimal import Decimal

from daemons.venue.matching import MatchingEngine
from daemons.venue.orders import Execution, new_id


class FundingClock:
    """Says when the tape crosses a funding boundary."""

    def __init__(self, interval_s: int) -> None:
        self.interval_ms = interval_s * 1000
        self._bucket: int | None = None

    def crossed(self, tape_ms: int) -> bool:
        """True once for each boundary the tape time passes (never on the first call)."""
        bucket = tape_ms // self.interval_ms
        previous, self._bucket = self._bucket, bucket
        return previous is not None and bucket > previous

    def next_boundary(self, tape_ms: int) -> int:
        return (tape_ms // self.interval_ms + 1) * self.interval_ms


def settle_funding(engine: MatchingEngine, rate: Decimal, now_ms: int) -> int:
    """Charge or pay every open position of the engine's symbol mark x size x rate;
    return the payments made."""
    market, inst = engine.market, engine.inst
    market.funding_history.append((now_ms, rate))
    count = 0
    for acct in engine.accounts.values():
        for pos in acct.sides(inst.symbol):
            if pos.size_lots == 0:
                continue
            size = pos.qty
            payment = acct.apply_funding(pos, market.last_ticks, rate, now_ms)
            mark = inst.price(market.last_ticks)
            engine.record_execution(acct, Execution(
                exec_id=new_id(engine.ids), account=acct.name, inst=inst,
                order_id="", order_link_id="", side=pos.side, order_type="UNKNOWN",
                order_price=Decimal(0), order_qty=Decimal(0), exec_price=mark,
                exec_qty=size, exec_fee=payment, fee_rate=rate, is_maker=False,
                closed_size=Decimal(0), exec_pnl=Decimal(0), leaves_qty=Decimal(0),
                mark_price=mark, exec_time_ms=now_ms, seq=engine.outbox.next_exec_seq(),
                exec_type="Funding",
            ))
            count += 1
    return count
