"""Market-data sources shared by the local venue, the backtester and the capture tests.

Every source is a plain iterator of small frozen records (``Bar`` or ``Trade``) so
that consumers never care whether the tape came from a file or a generator.
"""
