"""Envelope encryption: AES-GCM, a fresh data key per credential, master-key wrapping."""

from __future__ import annotations

import pickle
from uuid import uuid4

import pytest

from daemons.secrets.envelope import DecryptionError, Secret, open_sealed, rewrap, seal
from daemons.secrets.keys import Keyring, MasterKey, MissingKeyError
from tests.fixtures.secrets import make_master_key


def test_envelope_seal_then_open_returns_the_secret(keyring: Keyring, secret: Secret) -> None:
    credential_id = uuid4()
    sealed = seal(keyring, secret, credential_id=credential_id)
    assert open_sealed(keyring, sealed, credential_id=credential_id) == secret
    assert sealed.key_id == keyring.active.key_id


def test_envelope_ciphertexts_contain_neither_secret_nor_keys(
        keyring: Keyring, secret: Secret) -> None:
    sealed = seal(keyring, secret, credential_id=uuid4())
    blob = sealed.encrypted_secret + sealed.encrypted_data_key
    assert secret.reveal().encode() not in blob
    assert keyring.active.material() not in blob
    assert "encrypted" not in repr(sealed) and secret.reveal() not in repr(sealed)


def test_envelope_same_secret_twice_uses_fresh_data_keys(keyring: Keyring, secret: Secret) -> None:
    one = seal(keyring, secret, credential_id=uuid4())
    two = seal(keyring, secret, credential_id=uuid4())
    assert one.encrypted_data_key != two.encrypted_data_key
    assert one.encrypted_secret != two.encrypted_secret


def test_envelope_wrong_master_key_fails_clearly_without_key_material(
        master_key: MasterKey, secret: Secret) -> None:
    credential_id = uuid4()
    sealed = seal(Keyring.of(master_key), secret, credential_id=credential_id)
    impostor = make_master_key()
    wrong = Keyring(active=impostor, keys={master_key.key_id: impostor}, source="test")
    with pytest.raises(DecryptionError) as caught:
        open_sealed(wrong, sealed, credential_id=credential_id)
    message = str(caught.value)
    assert "wrong master key" in message and str(credential_id) in message
    for material in (master_key.encode(), impostor.encode(), secret.reveal()):
        assert material not in message and material not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_envelope_missing_master_key_names_the_key_id(master_key: MasterKey,
                                                      secret: Secret) -> None:
    credential_id = uuid4()
    sealed = seal(Keyring.of(master_key), secret, credential_id=credential_id)
    with pytest.raises(MissingKeyError, match=master_key.key_id) as caught:
        open_sealed(Keyring.of(make_master_key()), sealed, credential_id=credential_id)
    assert master_key.encode() not in str(caught.value)


def test_envelope_ciphertext_moved_to_another_credential_does_not_decrypt(
        keyring: Keyring, secret: Secret) -> None:
    sealed = seal(keyring, secret, credential_id=uuid4())
    with pytest.raises(DecryptionError):
        open_sealed(keyring, sealed, credential_id=uuid4())


def test_envelope_tampered_ciphertext_does_not_decrypt(keyring: Keyring, secret: Secret) -> None:
    credential_id = uuid4()
    sealed = seal(keyring, secret, credential_id=credential_id)
    flipped = bytearray(sealed.encrypted_secret)
    flipped[-1] ^= 1
    tampered = type(sealed)(bytes(flipped), sealed.encrypted_data_key, sealed.key_id)
    with pytest.raises(DecryptionError, match="altered"):
        open_sealed(keyring, tampered, credential_id=credential_id)


def test_envelope_rewrap_changes_only_the_wrapped_data_key(keyring: Keyring,
                                                           secret: Secret) -> None:
    credential_id = uuid4()
    sealed = seal(keyring, secret, credential_id=credential_id)
    new_key = make_master_key()
    moved = rewrap(Keyring.of(keyring.active, new_key), sealed, credential_id=credential_id,
                   target=new_key)
    assert moved.encrypted_secret == sealed.encrypted_secret
    assert moved.key_id == new_key.key_id != sealed.key_id
    assert open_sealed(Keyring.of(new_key), moved, credential_id=credential_id) == secret
    with pytest.raises(MissingKeyError):
        open_sealed(keyring, moved, credential_id=credential_id)


def test_secret_repr_str_and_pickle_hide_the_value(secret: Secret) -> None:
    assert secret.reveal() not in repr(secret) and secret.reveal() not in str(secret)
    assert f"{secret}" == "Secret('***')"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_master_key_repr_and_pickle_hide_the_material(master_key: MasterKey) -> None:
    assert master_key.encode() not in repr(master_key)
    assert master_key.key_id in repr(master_key)
    with pytest.raises(TypeError):
        pickle.dumps(master_key)
