"""What recovery reads from the exchange at a (re)start, against the venue through pybit."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest

from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.rest import BybitRest
from daemons.secrets.envelope import Secret
from daemons.trading.recovery import read_exchange
from daemons.venue.server import RunningVenue
from gridcore.events import PositionEvent
from tests.daemons.trading.conftest import start_trading_venue


@pytest.fixture(scope="module")
def flat_venue() -> Iterator[RunningVenue]:
    running = start_trading_venue(1)
    yield running
    running.stop()


def test_read_exchange_tells_every_side_of_each_strategy_symbol_flat_ones_too(
        flat_venue: RunningVenue) -> None:
    """Bybit lists only open positions when asked by settle coin; a restored engine whose
    snapshot held a position closed during the downtime must still be told it is flat, so
    positions are read by symbol."""
    spec = flat_venue.server.config.accounts[0]
    rest = BybitRest(endpoints_for("local", flat_venue.base_url), spec.api_key,
                     Secret(spec.api_secret))
    assert rest.positions().rows == [], "by settle coin: open positions only"
    host = SimpleNamespace(rest=rest, account=SimpleNamespace(strategies=[
        SimpleNamespace(symbol="BTCUSDT"), SimpleNamespace(symbol="ETHUSDT")]))
    state = read_exchange(host)  # type: ignore[arg-type]
    sides = sorted((p.symbol, p.position_idx, p.size) for p in state.positions
                   if isinstance(p, PositionEvent))
    assert sides == [("BTCUSDT", 1, Decimal(0)), ("BTCUSDT", 2, Decimal(0)),
                     ("ETHUSDT", 1, Decimal(0)), ("ETHUSDT", 2, Decimal(0))]
