"""Answers that are not Bybit's envelope fail their one request, cleanly, over real pybit.

A loopback HTTP server answers every request with one fixed body, as a broken proxy or a
corrupted answer would; the venue cannot produce these (its encoder refuses them).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from daemons.bybit.endpoints import Endpoints
from daemons.bybit.errors import RetryableError
from daemons.bybit.rest import BybitRest

GOOD_RESULT = '{"category": "linear", "list": [], "nextPageCursor": ""}'


class _Server:
    """Serves ``body`` to every request on 127.0.0.1; counts the requests."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    s.thread.start()
    yield s
    s.http.shutdown()
    s.http.server_close()


def _client(server: _Server) -> BybitRest:
    return BybitRest(Endpoints("local", server.url, "ws://127.0.0.1:9"), backoff_s=(0.0,),
                     sleep=lambda _: None)


@pytest.mark.parametrize(("body", "reason"), [
    ('{"retCode": 0, "time": "soon", "result": ' + GOOD_RESULT + "}", "rest.time"),
    ('{"retCode": 0, "time": 1700000000000000, "result": ' + GOOD_RESULT + "}", "rest.time"),
    ('{"retCode": 0, "time": 1700000000000, "result": {"list": "none"}}', "rest.result.list"),
    ('{"retCode": 0, "time": 1700000000000, "result": {"category": 5, "list": []}}',
     "rest.result.category"),
    ('{"retCode": 0, "result": {"list": [' + "[" * 40 + "]" * 40 + "]}}", "nested deeper"),
    ('{"retCode": 0, "result": {"list": [' + "[" * 100_000 + "]" * 100_000 + "]}}",
     "RecursionError"),
    ('{"retCode": 0, "time": ' + "9" * 5000 + ', "result": ' + GOOD_RESULT + "}",
     "ValueError"),
    ("[1, 2]", "AttributeError"),
])
def test_rest_malformed_answer_fails_that_request_with_retryable_error(
        server: _Server, body: str, reason: str) -> None:
    server.body = body.encode()
    with pytest.raises(RetryableError, match="malformed answer") as caught:
        _client(server).recent_trades("BTCUSDT")
    assert reason in str(caught.value)
    assert "9999999999" not in str(caught.value)  # the reason names, never quotes


def test_rest_answer_without_time_is_stamped_at_receipt(server: _Server) -> None:
    server.body = ('{"retCode": 0, "result": ' + GOOD_RESULT + "}").encode()
    page = _client(server).recent_trades("BTCUSDT")
    assert page.rows == [] and page.category == "linear" and page.time_ms > 1_700_000_000_000
