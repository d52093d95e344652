"""Where each environment lives: REST and WebSocket base URLs.

``bybit_accounts.environment`` says which exchange an account trades on. ``local`` is the
project's own venue (``gridbot venue``), whose address comes from configuration
(``GRIDBOT_LOCAL_VENUE_URL`` or a ``--venue-url`` option), never from code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENVIRONMENTS = ("mainnet", "testnet", "local")
LOCAL_VENUE_ENV = "GRIDBOT_LOCAL_VENUE_URL"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of one environment.

    ``contiguous_trade_seq``: the venue numbers public trades 1, 2, 3, ... so a jump in
    ``seq`` proves lost trades; Bybit's ``seq`` only increases, so there a jump proves
    nothing and gaps are found by reconnects, silence and REST overlap instead.
    """

    environment: str
    rest_url: str
    ws_url: str
    contiguous_trade_seq: bool = False

    @property
    def ws_public_linear(self) -> str:
        return f"{self.ws_url}/v5/public/linear"

    @property
    def ws_private(self) -> str:
        return f"{self.ws_url}/v5/private"


def endpoints_for(environment: str, venue_url: str | None = None) -> Endpoints:
    """Endpoints of ``environment``; ``local`` needs ``venue_url`` or the environment."""
    if environment == "mainnet":
        return Endpoints("mainnet", "https://api.bybit.com", "wss://stream.bybit.com")
    if environment == "testnet":
        return Endpoints("testnet", "https://api-testnet.bybit.com",
                         "wss://stream-testnet.bybit.com")
    if environment != "local":
        raise ValueError(f"environment {environment!r}: use one of {', '.join(ENVIRONMENTS)}")
    url = venue_url or os.environ.get(LOCAL_VENUE_ENV)
    if not url:
        raise ValueError(f"environment 'local' needs the venue's URL: set {LOCAL_VENUE_ENV} "
                         "or pass --venue-url (e.g. http://127.0.0.1:8090)")
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"venue URL {url!r}: expected http://host:port")
    ws = "ws://" + url.removeprefix("http://") if url.startswith("http://") \
        else "wss://" + url.removeprefix("https://")
    return Endpoints("local", url, ws, contiguous_trade_seq=True)
