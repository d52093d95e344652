"""Envelope encryption of API secrets with AES-256-GCM (``cryptography``).

Each credential gets a fresh random data key. The secret is encrypted with the data key;
the data key is encrypted ("wrapped") with the master key; the database stores both
ciphertexts and the master key's id, never a key in clear. Rotating the master key
re-wraps data keys only (:func:`rewrap`): secrets are not decrypted for it.

Both ciphertexts are bound to their credential id as associated data, so a ciphertext
copied onto another row does not decrypt. Blob layout: version byte, 12-byte nonce,
ciphertext with its 16-byte tag.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from daemons.secrets.keys import Keyring, MasterKey, SecretsError
from daemons.secrets.redaction import register_secret

_VERSION = b"\x01"
_NONCE_BYTES = 12


class DecryptionError(SecretsError):
    """A ciphertext did not decrypt: wrong master key, or the data was altered."""


class Secret:
    """A secret string whose repr, str and pickling never show it; call :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("a secret must be a non-empty string")
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> object:
        raise TypeError("secrets are not picklable")


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """What the database stores for one credential."""

    encrypted_secret: bytes = field(repr=False)
    encrypted_data_key: bytes = field(repr=False)
    key_id: str


def seal(keyring: Keyring, secret: Secret, *, credential_id: UUID) -> SealedSecret:
    """Encrypt ``secret`` under a fresh data key wrapped by the keyring's active key."""
    data_key = AESGCM.generate_key(bit_length=256)
    encrypted_secret = _encrypt(data_key, secret.reveal().encode("utf-8"),
                                _aad(b"secret", credential_id))
    wrapped = _encrypt(keyring.active.material(), data_key, _aad(b"data-key", credential_id))
    return SealedSecret(encrypted_secret, wrapped, keyring.active.key_id)


def open_sealed(keyring: Keyring, sealed: SealedSecret, *, credential_id: UUID) -> Secret:
    """Decrypt a stored secret; raise :class:`DecryptionError` or ``MissingKeyError``."""
    master = keyring.get(sealed.key_id)
    data_key = _decrypt(master.material(), sealed.encrypted_data_key,
                        _aad(b"data-key", credential_id),
                        what=f"data key of credential {credential_id} (master key {master.key_id})")
    plain = _decrypt(data_key, sealed.encrypted_secret, _aad(b"secret", credential_id),
                     what=f"secret of credential {credential_id}")
    return Secret(plain.decode("utf-8"))


def rewrap(keyring: Keyring, sealed: SealedSecret, *, credential_id: UUID,
           target: MasterKey) -> SealedSecret:
    """Re-encrypt the data key under ``target``; the secret's ciphertext is unchanged."""
    if sealed.key_id == target.key_id:
        return sealed
    master = keyring.get(sealed.key_id)
    aad = _aad(b"data-key", credential_id)
    data_key = _decrypt(master.material(), sealed.encrypted_data_key, aad,
                        what=f"data key of credential {credential_id} (master key {master.key_id})")
    return SealedSecret(sealed.encrypted_secret, _encrypt(target.material(), data_key, aad),
                        target.key_id)


def _aad(kind: bytes, credential_id: UUID) -> bytes:
    return b"gridbot/" + kind + b"/v1/" + UUID(str(credential_id)).bytes


def _encrypt(key: bytes, plain: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plain, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes, *, what: str) -> bytes:
    blob = bytes(blob)
    if blob[:1] != _VERSION or len(blob) < 1 + _NONCE_BYTES + 16:
        raise DecryptionError(f"cannot decrypt the {what}: unknown format")
    try:
        return AESGCM(key).decrypt(blob[1:1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            f"cannot decrypt the {what}: wrong master key or altered ciphertext") from None
