"""The trading daemon (``gridbot trade``): every enabled strategy of every enabled account.

An orchestrator (:mod:`daemons.trading.daemon`) owns accounts through PostgreSQL advisory
locks and keeps one worker per owned account (:mod:`daemons.trading.worker`); a worker turns
exchange events into ``GridEngine.on_event`` calls and intents into REST calls, and nothing
else: the decisions are gridcore's, the same code the backtest runs.
"""
