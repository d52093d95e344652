"""Backtest assets: replays of market data through gridcore."""
