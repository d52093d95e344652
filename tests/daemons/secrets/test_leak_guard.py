"""The suite-wide leak guard (tests/fixtures/leak_guard.py) really fails a leaking test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

INNER_TESTS = '''
import logging
import sys

from daemons.secrets.envelope import Secret
from tests.fixtures.leak_guard import CANARY

log = logging.getLogger("daemons.inner")


def test_prints_a_test_secret():
    print("the secret is " + CANARY + "abcdefgh")


def test_logs_an_unregistered_test_secret_in_free_text(caplog):
    log.warning("connecting with " + CANARY + "ijklmnop as the key")


def test_logs_a_registered_secret_through_redaction():
    secret = Secret("hunter2-hunter2-hunter2")
    log.warning("secret %s in use", secret.reveal())


def test_writes_a_registered_secret_to_stderr():
    secret = Secret("swordfish-swordfish")
    sys.stderr.write("oops " + secret.reveal() + "\\n")
'''


def test_leak_guard_inner_session_fails_exactly_the_leaking_tests(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT),
                                                                   os.environ.get("PYTHONPATH")])))
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "tests.fixtures.leak_guard", "-q",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)
    output = result.stdout.str() + result.stderr.str()
    assert "secret leaked during call" in output
    for leaked in ("abcdefgh", "ijklmnop", "swordfish-swordfish", "hunter2-hunter2"):
        assert leaked not in output
