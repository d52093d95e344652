"""Market data the capture daemon stored: observed per day, checked before it is replayed."""
