"""Bybit's retCodes and the one exception that carries them to the REST envelope."""

from __future__ import annotations

BAD_PARAM = 10001
BAD_TIMESTAMP = 10002
BAD_KEY = 10003
BAD_SIGN = 10004
RATE_LIMIT = 10006
SERVER_ERROR = 10016
ORDER_NOT_FOUND = 110001
PRICE_OUT_OF_RANGE = 110003
INSUFFICIENT_BALANCE = 110007
QTY_TO_ZERO = 110017
TOO_MANY_ORDERS = 110020
DUPLICATE_LINK_ID = 110072


class VenueError(Exception):
    """A request the venue refuses, answered as ``{"retCode": code, "retMsg": msg}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def bad_param(message: str) -> VenueError:
    """Shorthand for the most common refusal, retCode 10001."""
    return VenueError(BAD_PARAM, message)
