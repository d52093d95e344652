"""Simulation: a broker that carries out engine intents against replayed market data.

The backtest runs the very engine the live bot runs; only the side that carries out
intents differs. Fill models (one small file per family) decide when a resting order
fills; the broker does the accounting.
"""
