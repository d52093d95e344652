"""Faults switched on by the admin interface or flags, each for a while.

Later issues prove that nothing is lost across these; each fault is scoped to one
account or (``account=None``) to all, and expires by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = {
    "http_5xx": "REST answers HTTP 5xx (``status``, default 503)",
    "rate_limit": "REST answers retCode 10006",
    "auth_reject": "REST answers retCode 10003 and WebSocket auth fails",
    "ack_delay": "REST order acknowledgements wait ``ms`` milliseconds",
    "stall_public": "public WebSocket stream goes silent (``mode`` hold or drop)",
    "stall_private": "private WebSocket stream goes silent (``mode`` hold or drop)",
}


OPTIONS = {
    "http_5xx": ("status",), "ack_delay": ("ms",), "stall_public": ("mode",),
    "stall_private": ("mode",), "rate_limit": (), "auth_reject": (),
}
MODES = ("hold", "drop")
MAX_ACK_DELAY_MS = 600_000
MAX_FAULT_S = 7 * 86_400  # a soak test's length; 1e300 s would overflow the end time


def check_options(kind: str, seconds: float, options: dict[str, str]) -> None:
    """Refuse what would otherwise be read silently as something else.

    Without this, ``status=abc`` became 503, ``mode=foo`` acted as hold and an option of
    another kind was ignored: a fault the user did not ask for.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(KINDS))}")
    if not 0 <= seconds <= MAX_FAULT_S:  # 0 replaces a fault with one already over
        raise ValueError(f"{kind}: seconds must be a number from 0 to {MAX_FAULT_S} (7 days)")
    for name in options:
        if name not in OPTIONS[kind]:
            allowed = ", ".join(OPTIONS[kind]) or "none"
            raise ValueError(f"{kind}: unknown option {name!r} (allowed: {allowed})")
    status, ms, mode = options.get("status"), options.get("ms"), options.get("mode")
    if status is not None and not (status.isdigit() and 500 <= int(status) <= 599):
        raise ValueError(f"{kind}: status must be an HTTP status 500..599")
    if ms is not None and not (ms.isdigit() and int(ms) <= MAX_ACK_DELAY_MS):
        raise ValueError(f"{kind}: ms must be an integer 0..{MAX_ACK_DELAY_MS}")
    if mode is not None and mode not in MODES:
        raise ValueError(f"{kind}: mode must be one of {', '.join(MODES)}")


@dataclass(frozen=True)
class Fault:
    """One active fault: its end (wall ms), scope and options."""

    kind: str
    until_ms: int
    account: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "until_ms": self.until_ms, "account": self.account,
                **self.options}


class Faults:
    """The set of active faults, looked up on every request and message."""

    def __init__(self) -> None:
        self._active: dict[tuple[str, str | None], Fault] = {}

    def set(self, kind: str, until_ms: int, account: str | None = None,
            options: dict[str, str] | None = None) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(KINDS))}")
        fault = Fault(kind, until_ms, account, dict(options or {}))
        self._active[(kind, account)] = fault
        return fault

    def get(self, kind: str, account: str | None, now_ms: int) -> Fault | None:
        """The fault of ``kind`` that applies to ``account`` now (account-wide or global)."""
        for key in ((kind, account), (kind, None)):
            fault = self._active.get(key)
            if fault is not None:
                if fault.until_ms > now_ms:
                    return fault
                del self._active[key]
        return None

    def clear(self, kind: str | None = None) -> int:
        keys = [k for k in self._active if kind is None or k[0] == kind]
        for key in keys:
            del self._active[key]
        return len(keys)

    def snapshot(self, now_ms: int) -> list[dict[str, object]]:
        return [f.as_dict() for f in self._active.values() if f.until_ms > now_ms]
