"""The Bybit v5 adapter: the only package that imports pybit.

| module | job |
|---|---|
| ``endpoints.py`` | REST and WebSocket base URLs per environment (mainnet, testnet, local venue) |
| ``errors.py`` | errors classed retryable, non-retryable or fatal |
| ``ratelimit.py`` | per-account rolling-window limiter (orders and queries apart) |
| ``rest.py`` | pybit HTTP with the limiter, 10006 backoff and cursor paging |
| ``streams.py`` | pybit WebSocket with heartbeat, reconnect, resubscribe, stale watchdog |
| ``parsing.py`` | the normaliser: Bybit messages and REST rows into gridcore events |
| ``fields.py`` | the normaliser's field readers: only values the tables can store pass |
| ``items.py`` | the normaliser over a message's or page's items: a bad item costs itself |
| ``private.py`` | an account's private messages and pages decoded (capture and trading) |

pybit's own types (sessions, exceptions) never leave this package: callers get plain
dicts, gridcore events and the errors of ``errors.py``.
"""
