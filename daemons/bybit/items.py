"""Running the normaliser over the items of a message or REST page, one item at a time.

A message or page holds many items; the normaliser (:mod:`daemons.bybit.parsing`) refuses
one item with a :class:`ParseError`, and that must cost the item alone, never the message,
the page or the reconcile around it. Items of another market are not errors: they are
skipped and counted by the caller (see :func:`daemons.bybit.parsing.other_category`).
Capture and the trading daemon decode through these, so they treat a bad item alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from daemons.bybit.parsing import ParseError, is_block_trade, other_category
from gridcore.events import PublicTradeEvent

T = TypeVar("T")


def each(items: Iterable[Any], build: Callable[[Any], T | None],
         reject: Callable[[Any, ParseError], None]) -> list[T]:
    """``build`` every item: one the normaliser refuses goes to ``reject`` and costs only
    itself; one ``build`` skips (None: another market's) is left out."""
    built = []
    for item in items:
        try:
            result = build(item)
        except ParseError as e:
            reject(item, e)
            continue
        if result is not None:
            built.append(result)
    return built


def linear(build: Callable[[Any], T], default: str | None, where: str,
           skipped: Callable[[str], None]) -> Callable[[Any], T | None]:
    """``build`` for linear items only: another category goes to ``skipped`` and is
    skipped (valid data of another market, not an error; see ``parsing.other_category``)."""
    def linear_only(item: Any) -> T | None:
        other = other_category(item, default, where)
        if other is not None:
            skipped(other)
            return None
        return build(item)
    return linear_only


def trades(items: Iterable[Any], build: Callable[[Any], PublicTradeEvent | None],
           reject: Callable[[Any, ParseError], None],
           ) -> list[tuple[PublicTradeEvent, bool]]:
    """The valid trades of a message or page, each with its block-trade flag (which the
    table keeps and the event does not); see :func:`each`."""
    def with_flag(item: Any) -> tuple[PublicTradeEvent, bool] | None:
        event = build(item)
        return None if event is None else (event, is_block_trade(item))
    return each(items, with_flag, reject)
