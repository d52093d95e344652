"""A replay's decisions, written down the way the live trading daemon records its own.

The live run's ``engine_decisions`` hold every intent with the event that caused it; a
replay must give the same list for the first diverging decision to be found. Wrapping the
replay's engine in :class:`RecordingEngine` does that without touching the replay: every
call is passed through, and the intents ``on_event`` returns are recorded as
:class:`~daemons.validation.inputs.Decision` values with the same documents
(``daemons.db.event_codec``, ``daemons.trading.records.intent_document``).
"""

from __future__ import annotations

from typing import Any

from daemons.db.event_codec import kind_of, to_document
from daemons.trading.records import intent_document
from daemons.validation.inputs import Decision
from gridcore.engine import GridEngine
from gridcore.intents import Intent, PlaceLimitIntent


class RecordingEngine:
    """``engine`` with every decision recorded in :attr:`decisions`, in order."""

    def __init__(self, engine: GridEngine) -> None:
        self._engine = engine
        self.decisions: list[Decision] = []

    def on_event(self, event: Any) -> list[Intent]:
        intents = self._engine.on_event(event)
        for intent in intents:
            place = isinstance(intent, PlaceLimitIntent)
            self.decisions.append(Decision(
                seq=len(self.decisions) + 1, ts=event.exchange_ts, trigger_kind=kind_of(event),
                trigger=to_document(event), intent_kind="place" if place else "cancel",
                order_link_id=intent.client_order_id,
                side=intent.side if place else None,
                price=intent.price if place else None,
                qty=intent.qty if place else None,
                intent=intent_document(intent)))
        return intents

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)
