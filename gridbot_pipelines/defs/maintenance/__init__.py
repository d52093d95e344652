"""Database upkeep on a schedule: partitions ahead, expired ones archived to Parquet."""
