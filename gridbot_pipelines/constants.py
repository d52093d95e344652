"""Names shared across the Dagster project.

Asset groups are snake_case domains, one folder each under ``defs/``. The nightly
validation job takes every asset carrying :data:`NIGHTLY` (``jobs.py``): an asset joins
the night by its tag, wherever its folder is.
"""

MARKET_DATA = "market_data"
ACCOUNTS = "accounts"
BACKTESTS = "backtests"
MAINTENANCE = "maintenance"
VALIDATION = "validation"

#: Tag of the assets the nightly validation materialises (reconcile, replay, compare, report).
NIGHTLY = {"nightly": "true"}
