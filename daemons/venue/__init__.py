"""The local Bybit v5 venue: a loopback exchange for tests, the demo and shadow runs.

It speaks Bybit's v5 REST and WebSocket protocol closely enough that pybit and the
project's daemons cannot tell it from Bybit, and matches orders with its own hidden
queue, depth and latency models (independent of gridcore's backtest fill models, see
``validation.md``). Start one in-process with :func:`daemons.venue.server.start_venue`.
"""
