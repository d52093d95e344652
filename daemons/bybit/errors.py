"""Errors of the Bybit adapter, classed by what the caller should do about them.

* :class:`RetryableError`: try again later (rate limit, server error, network, timestamp
  window). The REST client already retried with backoff before raising it.
* :class:`NonRetryableError`: this request is wrong or refers to something that does not
  exist (bad parameter, unknown order); repeating it gives the same answer.
* :class:`FatalError`: the account cannot work (invalid key, bad signature, permission):
  stop using it until an operator acts.

Messages name the endpoint and Bybit's retCode and text, never parameters or keys.
"""

from __future__ import annotations

RATE_LIMIT = 10006
RETRYABLE_CODES = frozenset({10002, 10006, 10016, 10000, 10019, 170007, 170146})
FATAL_CODES = frozenset({10003, 10004, 10005, 10007, 10008, 10009, 10010, 33004})


class BybitError(Exception):
    """A Bybit request failed; ``ret_code`` is Bybit's retCode or the HTTP status."""

    def __init__(self, message: str, ret_code: int | None = None,
                 reset_ms: int | None = None) -> None:
        super().__init__(message)
        self.ret_code = ret_code
        #: For a rate limit (10006): when Bybit says the window resets (epoch ms), if it did.
        self.reset_ms = reset_ms


class RetryableError(BybitError):
    """Transient: the same request may succeed later."""


class NonRetryableError(BybitError):
    """The request itself is refused; repeating it will not help."""


class FatalError(BybitError):
    """The account's credentials or permissions are unusable."""


def classify_ret_code(ret_code: int) -> type[BybitError]:
    """The error class for a non-zero Bybit retCode."""
    if ret_code in RETRYABLE_CODES:
        return RetryableError
    if ret_code in FATAL_CODES:
        return FatalError
    return NonRetryableError


def classify_http_status(status: int) -> type[BybitError]:
    """The error class for an HTTP status other than 200 (403 is Bybit's IP limit)."""
    if status >= 500 or status in (403, 408, 429):
        return RetryableError
    if status == 401:
        return FatalError
    return NonRetryableError
