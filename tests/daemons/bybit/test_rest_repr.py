"""The REST client never shows its API secret: not in its repr, nor in pybit's client
object inside it (whose dataclass repr would print ``api_secret``)."""

from __future__ import annotations

from daemons.bybit.endpoints import endpoints_for
from daemons.bybit.rest import BybitRest
from daemons.secrets.envelope import Secret
from tests.fixtures.secrets import make_secret_text


def test_rest_client_and_its_pybit_session_reprs_hide_the_secret() -> None:
    secret = make_secret_text()
    client = BybitRest(endpoints_for("testnet"), "KEYID123", Secret(secret))
    shown = [repr(client), repr(vars(client)), repr(client._http), str(client._http)]
    assert not any(secret in text for text in shown)
    assert "signed=True" in repr(client._http) and "KEYID123" not in repr(client._http)
