"""Keep secrets out of logs: known values and ``key=value`` patterns become ``***``.

:func:`install` (called by :func:`daemons.logs.configure_logging`, i.e. by every entry
point) redacts each log record as it is created, whatever logger or handler it goes to:
the message is formatted with its arguments and redacted, the arguments dropped, and a
traceback is formatted, redacted and kept as ``exc_text`` (``exc_info`` is cleared so no
handler can render the live traceback, locals included, on its own). It also puts
:class:`RedactingFilter` on the root logger's handlers, for records built without the
record factory (``logging.makeLogRecord``), and redacting ``sys.excepthook`` and
``threading.excepthook``.

Code that handles a secret registers its value with :func:`register_secret` (the
``Secret`` type and the key loaders do it), so it is redacted even where no pattern would
recognise it. The Dagster code location (``gridbot_pipelines/definitions.py``) calls
:func:`install` itself: Dagster's code server never runs the CLI.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from types import TracebackType

REDACTED = "***"
#: Values shorter than this are not registered: redacting them would mangle ordinary text.
MIN_SECRET_LENGTH = 8

#: Words that mark a name (a key of ``key=value``, an environment variable) as a secret's.
SENSITIVE_NAME = (r"(?:secret|passw(?:or)?d|pwd|token|api[_-]?key|master[_-]?key|"
                  r"private[_-]?key|data[_-]?key)")
#: Words that begin a message about a value (``api_secret: required non-empty string``),
#: never a value themselves: an unquoted value starting with one is left as it is.
_MESSAGE_WORDS = (r"(?:must|is|are|not|required|missing|expected|empty|invalid|should|"
                  r"cannot|unknown|needs?|none|null)\b")
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>(?<![\w.-])[\w.-]*" + SENSITIVE_NAME + r"[\w.-]*)"
    r"(?P<sep>[\"']?\s*(?:=|:)\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|b'[^']*'|(?!" + _MESSAGE_WORDS + r")[^\s,;&)}\]]+)"
)
_URL_PASSWORD = re.compile(r"(?i)(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?P<at>@)")

_known: set[str] = set()
_known_sorted: list[str] = []
_lock = threading.Lock()
_installed = False


def register_secret(value: str | bytes) -> None:
    """Redact ``value`` wherever it appears in a log record from now on."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if not isinstance(text, str) or len(text) < MIN_SECRET_LENGTH:
        return
    global _known_sorted
    with _lock:
        if text not in _known:
            _known.add(text)
            _known_sorted = sorted(_known, key=len, reverse=True)


def redact(text: str) -> str:
    """Return ``text`` with known secrets and sensitive ``key=value`` values replaced."""
    for secret in _known_sorted:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _KEY_VALUE.sub(_mask_value, text)
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}{m['at']}", text)


def _mask_value(match: re.Match[str]) -> str:
    value = match["value"]
    if value == REDACTED or value.strip("\"'") == REDACTED:
        return match.group(0)
    quote = value[0] if value[:1] in {'"', "'"} else ""
    return f"{match['key']}{match['sep']}{quote}{REDACTED}{quote}"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place and return it (running it twice changes nothing more)."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not turn into a leak or a crash
        message = f"{record.msg!s} (unformattable arguments dropped)"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info != (None, None, None):
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record it sees (and never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    global _installed
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    # Every time: typer puts its own (unredacting) hook back at each ``app()``. A thread
    # hook someone else installed (a test runner's) is left alone.
    sys.excepthook = _redacting_excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _redacting_thread_excepthook
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        factory._gridbot_redacting = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)
        _installed = True


def _redacting_excepthook(exc_type: type[BaseException], exc: BaseException,
                          tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(redact(text))


def _redacting_thread_excepthook(args: threading.ExceptHookArgs) -> None:
    """A thread's uncaught exception, redacted (the default hook prints it as it is)."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "unknown"
    sys.stderr.write(f"Exception in thread {name}:\n")
    _redacting_excepthook(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
