"""Redaction: known values and key=value secrets never reach a log handler."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from daemons.logs import configure_logging
from daemons.secrets import redaction
from daemons.secrets.envelope import Secret

log = logging.getLogger("daemons.test_redaction")


@pytest.mark.parametrize("template", [
    "api_secret={v}", "password: {v}", "token = '{v}'", '{{"apiSecret": "{v}"}}',
    "{{'master_key': '{v}'}}", "GRIDBOT_MASTER_KEY={v}", "postgresql://gridbot:{v}@db/gridbot",
])
def test_redact_key_value_patterns_hide_the_value(template: str, secret_text: str) -> None:
    text = template.format(v=secret_text)
    assert secret_text not in redaction.redact(text)
    assert redaction.REDACTED in redaction.redact(text)


def test_redact_registered_value_anywhere_in_text(secret_text: str) -> None:
    redaction.register_secret(secret_text)
    assert redaction.redact(f"signing with {secret_text}!") == "signing with ***!"


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "placed 3 orders on BTCUSDT at 64000.5 (key id mk-0123456789abcdef)"
    assert redaction.redact(text) == text


def test_logging_record_args_message_and_traceback_are_redacted(
        caplog: pytest.LogCaptureFixture, secret: Secret) -> None:
    configure_logging()
    with caplog.at_level(logging.DEBUG, logger="daemons"):
        log.info("credential loaded: %s", secret.reveal())
        log.warning("request failed with api_secret=%s", "other-value-123456")
        try:
            raise ValueError(f"bad signature for {secret.reveal()}")
        except ValueError:
            log.exception("order rejected")
    rendered = caplog.text
    assert secret.reveal() not in rendered and "other-value-123456" not in rendered
    assert "credential loaded: ***" in rendered and "api_secret=***" in rendered
    assert "bad signature for ***" in rendered  # the traceback is kept, redacted
    assert all(r.exc_info is None and r.args is None for r in caplog.records)


def test_redacting_filter_covers_records_made_without_the_factory(secret: Secret) -> None:
    record = logging.makeLogRecord({"msg": "secret is %s", "args": (secret.reveal(),)})
    assert redaction.RedactingFilter().filter(record) is True
    assert record.getMessage() == "secret is ***"


def test_configure_logging_installs_redaction_on_its_handler() -> None:
    configure_logging()
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_gridbot", False)]
    assert handlers and all(
        any(isinstance(f, redaction.RedactingFilter) for f in h.filters) for h in handlers)


def test_uncaught_exception_in_an_entry_point_prints_redacted_traceback(
        secret_text: str) -> None:
    program = textwrap.dedent(f"""
        from daemons.logs import configure_logging
        from daemons.secrets.envelope import Secret
        configure_logging()
        secret = Secret({secret_text!r})
        raise RuntimeError("login failed for " + secret.reveal())
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "RuntimeError: login failed for ***" in done.stderr
    assert secret_text not in done.stderr + done.stdout


@pytest.mark.parametrize("message", [
    "accounts[0].api_secret: required non-empty string",
    "api_key: must be unique", "password: is too short", "token: missing",
])
def test_redact_keeps_messages_about_a_missing_or_invalid_value(message: str) -> None:
    assert redaction.redact(message) == message


def test_redact_still_masks_a_value_beside_a_message_word(secret_text: str) -> None:
    assert redaction.redact(f"api_secret: {secret_text} must rotate") == \
        "api_secret: *** must rotate"
    assert redaction.redact(f"password='must {secret_text}'") == "password='***'"


def test_install_takes_back_the_excepthook_a_framework_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """typer puts its own hook in place at every ``app()``, before logging is set up."""
    import typer.main

    monkeypatch.setattr(sys, "excepthook", typer.main.except_hook)
    configure_logging()
    assert sys.excepthook is redaction._redacting_excepthook


def test_uncaught_thread_exception_is_printed_redacted(secret_text: str) -> None:
    program = textwrap.dedent(f"""
        import threading
        from daemons.logs import configure_logging
        from daemons.secrets.envelope import Secret
        configure_logging()
        secret = Secret({secret_text!r})
        def work():
            raise RuntimeError("signing with " + secret.reveal())
        thread = threading.Thread(target=work, name="signer")
        thread.start()
        thread.join()
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60)
    assert "Exception in thread signer" in done.stderr
    assert "RuntimeError: signing with ***" in done.stderr
    assert secret_text not in done.stderr + done.stdout
