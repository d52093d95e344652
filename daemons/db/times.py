"""Epoch milliseconds and timestamptz, both ways, exactly (no float on the way).

Events carry integer milliseconds; the tables store ``timestamptz``. Every module that
crosses that line (capture rows, backtest sources and results) converts through here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: SQL turning a timestamptz column into epoch milliseconds: ``EPOCH_MS_SQL.format(col)``.
EPOCH_MS_SQL = "(extract(epoch FROM {0}) * 1000)::bigint"


def datetime_of_ms(ms: int) -> datetime:
    """Milliseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def ms_of_datetime(value: datetime) -> int:
    """An aware datetime as milliseconds since the epoch."""
    return (value - _EPOCH) // timedelta(milliseconds=1)
