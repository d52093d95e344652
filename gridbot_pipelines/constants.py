"""Names shared across the Dagster project: asset groups are snake_case domains."""

BACKTESTS = "backtests"
