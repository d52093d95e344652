"""gridcore: the pure grid strategy core shared by live trading and backtests."""
