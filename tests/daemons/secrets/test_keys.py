"""Master keys: environment or key directory, permissions, ids, rotation pointers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from daemons.secrets.keys import (
    KeyDirectory,
    KeyFileError,
    KeyFormatError,
    NoMasterKey,
    key_id_for,
    load_keyring,
)
from tests.fixtures.secrets import make_master_key


def test_keys_first_use_creates_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    first = load_keyring(tmp_path, environ={}, create=True)
    again = load_keyring(tmp_path, environ={})
    directory = tmp_path / "keys"
    key_file = directory / f"{first.active.key_id}.key"
    assert again.active.key_id == first.active.key_id
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (directory / "ACTIVE").read_text().strip() == first.active.key_id


def test_keys_environment_key_is_used_and_no_file_is_written(tmp_path: Path) -> None:
    new, old = make_master_key(), make_master_key()
    env = {"GRIDBOT_MASTER_KEY": f"{new.encode()},{old.encode()}"}
    keyring = load_keyring(tmp_path, environ=env)
    assert keyring.active.key_id == new.key_id
    assert set(keyring.keys) == {new.key_id, old.key_id}
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("value", ["not-base64-!!", "c2hvcnQ="])
def test_keys_malformed_environment_key_error_names_the_variable_not_the_value(
        tmp_path: Path, value: str) -> None:
    with pytest.raises(KeyFormatError, match="GRIDBOT_MASTER_KEY") as caught:
        load_keyring(tmp_path, environ={"GRIDBOT_MASTER_KEY": value})
    assert value not in str(caught.value)


def test_keys_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    keyring = load_keyring(tmp_path, environ={}, create=True)
    (tmp_path / "keys" / f"{keyring.active.key_id}.key").chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_keyring(tmp_path, environ={})


def test_keys_key_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    load_keyring(tmp_path, environ={}, create=True)
    (tmp_path / "keys").chmod(0o755)
    with pytest.raises(KeyFileError, match="chmod 700"):
        load_keyring(tmp_path, environ={})


def test_keys_begin_rotation_twice_returns_the_same_pending_key(tmp_path: Path) -> None:
    directory = KeyDirectory(tmp_path / "keys")
    active = directory.init()
    pending = directory.begin_rotation()
    assert directory.begin_rotation().key_id == pending.key_id != active.key_id
    assert directory.load().active.key_id == active.key_id
    directory.complete_rotation(pending.key_id)
    assert directory.load().active.key_id == pending.key_id
    assert directory.pending_id() is None


def test_keys_key_id_is_stable_and_distinct_per_key() -> None:
    one, two = make_master_key(), make_master_key()
    assert key_id_for(one.material()) == one.key_id
    assert one.key_id != two.key_id and one.key_id.startswith("mk-")


def test_keys_missing_or_empty_directory_gets_no_key_without_create(tmp_path: Path) -> None:
    typo, empty = tmp_path / "kyes", tmp_path / "empty"
    empty.mkdir(mode=0o700)
    for directory in (typo, empty):
        with pytest.raises(NoMasterKey, match=f"no master key in {directory}:"):
            load_keyring(tmp_path, environ={"GRIDBOT_KEY_DIR": str(directory)})
    assert not typo.exists() and list(empty.glob("mk-*")) == []


def test_keys_init_creates_the_first_key_once(tmp_path: Path) -> None:
    directory = KeyDirectory(tmp_path / "keys")
    key = directory.init()
    assert load_keyring(tmp_path, environ={}).active.key_id == key.key_id
    with pytest.raises(KeyFileError, match="already holds a master key"):
        directory.init()


@pytest.mark.parametrize("value", [",", " , ", "\t", "x" * 10_000, "é" * 44])
def test_keys_unusable_environment_value_is_a_key_error_without_the_value(
        tmp_path: Path, value: str) -> None:
    with pytest.raises(KeyFormatError, match="GRIDBOT_MASTER_KEY") as caught:
        load_keyring(tmp_path, environ={"GRIDBOT_MASTER_KEY": value})
    assert len(str(caught.value).splitlines()) == 1 and "x" * 100 not in str(caught.value)


def _break(directory: Path, key_id: str, breakage: str) -> None:
    key_file, active = directory / f"{key_id}.key", directory / "ACTIVE"
    if breakage == "binary key file":
        key_file.write_bytes(b"\xff\xfe\x00\x01")
    elif breakage == "binary ACTIVE":
        active.write_bytes(b"\x89PNG\xff")
    elif breakage == "ACTIVE is a directory":
        active.unlink()
        active.mkdir()
    elif breakage == "ACTIVE holds no key id":
        active.write_text("x" * 5000)
    elif breakage == "a key file is a directory":
        (directory / "mk-0000000000000000.key").mkdir()


@pytest.mark.parametrize("breakage", ["binary key file", "binary ACTIVE",
                                      "ACTIVE is a directory", "ACTIVE holds no key id",
                                      "a key file is a directory"])
def test_keys_broken_key_directory_is_one_key_file_error_naming_the_path(
        tmp_path: Path, breakage: str) -> None:
    directory = KeyDirectory(tmp_path / "keys")
    _break(directory.path, directory.init().key_id, breakage)
    with pytest.raises(KeyFileError) as caught:
        load_keyring(tmp_path, environ={})
    message = str(caught.value)
    assert str(directory.path) in message and len(message.splitlines()) == 1
    assert len(message) < 300


def test_keys_directory_that_is_a_file_is_a_key_file_error(tmp_path: Path) -> None:
    (tmp_path / "keys").write_bytes(b"\x00\x01binary")
    for create in (False, True):
        with pytest.raises(KeyFileError, match="not a directory"):
            load_keyring(tmp_path, environ={}, create=create)
