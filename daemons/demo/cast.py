"""Who trades in the demo: two users with two accounts each, one account in shadow.

Each account trades one symbol of the venue's four (one grid per symbol keeps the runs
apart in the reports). The venue's accounts file holds freshly drawn secrets, is written
with mode 0600 and is the only place they exist besides the encrypted credentials: the
demo hands each secret to ``gridbot credentials add`` on stdin, never on a command line.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Tight grids so that a few minutes of market fill orders on every account.
GRID = {"amount": "x0.002", "grid_count": "20", "grid_step": "0.02"}
#: USDT each venue account starts with.
STARTING_USDT = 100_000


@dataclass(frozen=True)
class DemoAccount:
    """One Bybit account of a demo user, the symbol its strategy trades, and how."""

    user: str
    name: str
    symbol: str
    mode: str = "live"
    grid: Mapping[str, str] = field(default_factory=lambda: dict(GRID))

    @property
    def venue_name(self) -> str:
        """The account's name on the venue (unique across users)."""
        return f"{self.user}-{self.name}"

    @property
    def label(self) -> str:
        return f"{self.user}/{self.name}"


CAST: tuple[DemoAccount, ...] = (
    DemoAccount("alice", "main", "BTCUSDT"),
    DemoAccount("alice", "side", "ETHUSDT"),
    DemoAccount("bob", "main", "SOLUSDT"),
    DemoAccount("bob", "side", "XRPUSDT", mode="shadow"),
)
#: The account whose replay the demo makes assume another grid step (--inject-divergence).
DIVERGENT = CAST[2]


def users(cast: tuple[DemoAccount, ...] = CAST) -> list[str]:
    """The cast's usernames, in order of first appearance."""
    return list(dict.fromkeys(a.user for a in cast))


@dataclass(frozen=True)
class VenueKey:
    """An account's API key pair on the venue. The secret never appears in a repr."""

    api_key: str
    api_secret: str = field(repr=False)


def write_venue_accounts(path: Path, cast: tuple[DemoAccount, ...] = CAST,
                         ) -> dict[str, VenueKey]:
    """Draw a key pair per account, write the venue's accounts file (0600); the pairs."""
    keys = {a.venue_name: VenueKey(f"DEMO{secrets.token_hex(8).upper()}",
                                   secrets.token_urlsafe(24)) for a in cast}
    document = [{"name": name, "api_key": key.api_key, "api_secret": key.api_secret,
                 "usdt": STARTING_USDT} for name, key in keys.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(document, out)
    return keys
