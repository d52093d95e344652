"""Write a tape into the captured market tables, as the capture daemon would have
(``daemons.backtest.db_source.store_tape``; kept here for the tests that import it)."""

from __future__ import annotations

from daemons.backtest.db_source import store_tape

__all__ = ["store_tape"]
