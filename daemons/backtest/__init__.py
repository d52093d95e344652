"""Backtest edge: turns stored or bundled market data into gridcore events and runs replays."""
