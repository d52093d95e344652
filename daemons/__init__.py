"""daemons: everything that talks to the outside world (Bybit, PostgreSQL, files)."""
