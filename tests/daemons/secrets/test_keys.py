"""Master keys: environment or key directory, permissions, ids, rotation pointers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from daemons.secrets.keys import (
    KeyDirectory,
    KeyFileError,
    KeyFormatError,
    key_id_for,
    load_keyring,
)
from tests.fixtures.secrets import make_master_key


def test_keys_first_use_creates_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    first = load_keyring(tmp_path, environ={})
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
    keyring = load_keyring(tmp_path, environ={})
    (tmp_path / "keys" / f"{keyring.active.key_id}.key").chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_keyring(tmp_path, environ={})


def test_keys_key_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    load_keyring(tmp_path, environ={})
    (tmp_path / "keys").chmod(0o755)
    with pytest.raises(KeyFileError, match="chmod 700"):
        load_keyring(tmp_path, environ={})


def test_keys_begin_rotation_twice_returns_the_same_pending_key(tmp_path: Path) -> None:
    directory = KeyDirectory(tmp_path / "keys")
    active = directory.load().active
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
