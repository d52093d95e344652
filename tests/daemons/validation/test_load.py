"""The loader's choices on rows as the database returns them: which executions are the
run's, and what its order latency is measured from and to."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from daemons.validation.inputs import FUNDING, TRADE, Decision
from daemons.validation.load import live_fills, order_latency
from gridcore import order_ids

RUN = uuid4()


def _link(strategy: str, sequence: int) -> str:
    return order_ids.encode(order_ids.OrderKey(strategy, "long", "Buy", 600_000 + sequence,
                                               sequence))


def _row(ts: int, link: str, run=None, exec_type: str = "Trade") -> tuple:
    return (ts, Decimal("60000"), Decimal("0.001"), "Buy", link, Decimal("0.012"), f"o{ts}",
            f"e{ts}", Decimal("0.0002"), Decimal(0), exec_type, run)


def test_load_live_fills_takes_unnamed_rows_of_its_strategy_and_funding_only() -> None:
    rows = [_row(1, _link("7", 1), RUN),         # stamped with the run by the trading daemon
            _row(2, _link("7", 2)),              # stored first by capture: no run id
            _row(3, _link("8", 3)),              # another strategy of the account
            _row(4, "manual-order"),             # an order gridcore did not name
            _row(5, "", exec_type="Funding"),    # the position's funding settlement
            _row(6, "manual-order", RUN)]        # whatever the run itself was stamped with
    fills = live_fills(rows, RUN, "7")
    assert [f.ts for f in fills] == [1, 2, 5, 6]
    assert [f.exec_type for f in fills] == [TRADE, TRADE, FUNDING, TRADE]


def _decision(seq: int, ts: int, kind: str, link: str | None) -> Decision:
    return Decision(seq=seq, ts=ts, trigger_kind="ticker", trigger={}, intent_kind=kind,
                    order_link_id=link)


def test_load_order_latency_runs_from_the_trigger_to_the_order_on_the_book() -> None:
    a, b, c = _link("7", 1), _link("7", 2), _link("7", 3)
    decisions = [_decision(1, 1_000, "place", a), _decision(2, 1_000, "place", b),
                 _decision(3, 5_000, "cancel", a), _decision(4, 6_000, "place", c),
                 _decision(5, 7_000, "cancel", None)]
    acks = [(a, 1_030, 5_100),    # on the book 30 ms after its trigger, cancelled 100 ms after
            (b, 1_450, None),     # 450 ms (it waited behind a's request)
            (c, None, 6_020)]     # never on the book, no cancel decided: nothing to measure
    latency = order_latency(decisions, acks)
    assert (latency.count, latency.p50_ms, latency.max_ms) == (3, 100, 450)
