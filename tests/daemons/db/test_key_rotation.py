"""Master-key rotation: interrupted and rerun, nothing in clear; API-key rotation grace."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from daemons.db import accounts, credentials
from daemons.db.key_rotation import retire_unused_keys, rotate_master_key
from daemons.db.session import Database
from daemons.secrets.envelope import Secret
from daemons.secrets.keys import KeyDirectory, Keyring, MasterKey
from tests.fixtures.secrets import make_master_key, make_secret_text
from tests.fixtures.tenants import make_user


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GRIDBOT_MASTER_KEY", raising=False)
    monkeypatch.delenv("GRIDBOT_KEY_DIR", raising=False)
    return tmp_path


def _store(db: Database, keyring: Keyring, count: int) -> dict[str, str]:
    """``count`` accounts over two users, one credential each; account id -> secret."""
    stored = {}
    users = [make_user(db, "erin"), make_user(db, "frank")]
    for i in range(count):
        user_id = users[i % 2]
        secret = make_secret_text()
        with db.unit_of_work(user_id) as conn:
            account = accounts.add_account(conn, user_id, f"acct{i}", "testnet")
            credentials.add_credential(conn, keyring, account.account_id, f"K{i}", Secret(secret))
        stored[str(account.account_id)] = secret
    return stored


def _decrypt_all(db: Database, keyring: Keyring) -> dict[str, str]:
    with db.admin() as conn:
        ids = [r[0] for r in conn.execute("SELECT account_id FROM api_credentials")]
        return {str(a): credentials.load_active_credential(conn, keyring, a).secret.reveal()
                for a in ids}


def _key_ids(db: Database) -> list[str]:
    with db.admin() as conn:
        return sorted(r[0] for r in conn.execute("SELECT encryption_key_id FROM api_credentials"))


def test_rotate_interrupted_then_rerun_moves_every_credential(db: Database, home: Path) -> None:
    directory = KeyDirectory(home / "keys")
    old = directory.init()
    stored = _store(db, directory.load(), 5)

    partial = rotate_master_key(db, home, batch_size=2, stop_after_batches=1)
    new_id = partial.target_key_id
    assert partial.rewrapped == 2 and directory.pending_id() == new_id
    assert directory.load().active.key_id == old.key_id  # not switched yet
    assert _key_ids(db).count(new_id) == 2 and _key_ids(db).count(old.key_id) == 3
    assert _decrypt_all(db, directory.load()) == stored  # mixed state is fully usable

    finished = rotate_master_key(db, home, batch_size=2)
    assert finished.target_key_id == new_id and finished.rewrapped == 3
    assert directory.pending_id() is None and directory.load().active.key_id == new_id
    assert set(_key_ids(db)) == {new_id}
    new_only = Keyring.of(directory.load().keys[new_id])
    assert _decrypt_all(db, new_only) == stored


def test_rotate_writes_no_secret_or_key_in_clear(db: Database, home: Path) -> None:
    directory = KeyDirectory(home / "keys")
    directory.init()
    stored = _store(db, directory.load(), 3)
    rotate_master_key(db, home)
    keys = directory.load().keys.values()
    with db.admin() as conn:
        rows = conn.execute("SELECT encrypted_secret, encrypted_data_key, encryption_key_id"
                            " FROM api_credentials").fetchall()
    dump = b"".join(bytes(a) + bytes(b) + c.encode() for a, b, c in rows)
    for needle in [s.encode() for s in stored.values()] + [k.material() for k in keys] + \
            [k.encode().encode() for k in keys]:
        assert needle not in dump


def test_rotate_with_environment_keys_moves_to_the_first(
        db: Database, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = make_master_key(), make_master_key()
    stored = _store(db, Keyring.of(old), 3)
    monkeypatch.setenv("GRIDBOT_MASTER_KEY", f"{new.encode()},{old.encode()}")
    assert rotate_master_key(db, home).rewrapped == 3
    assert rotate_master_key(db, home).rewrapped == 0  # rerun: nothing left
    assert set(_key_ids(db)) == {new.key_id}
    assert _decrypt_all(db, Keyring.of(new)) == stored
    assert not (home / "keys").exists()


def test_retire_unused_keys_deletes_only_unused_files(db: Database, home: Path) -> None:
    directory = KeyDirectory(home / "keys")
    old = directory.init()
    _store(db, directory.load(), 1)
    assert retire_unused_keys(db, home) == []  # the only key is in use
    rotate_master_key(db, home)
    assert retire_unused_keys(db, home) == [old.key_id]
    assert old.key_id not in directory.load().keys


def test_rotate_stops_on_a_credential_whose_key_is_missing(
        db: Database, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lost, current = make_master_key(), make_master_key()
    _store(db, Keyring.of(lost), 1)
    monkeypatch.setenv("GRIDBOT_MASTER_KEY", current.encode())
    with pytest.raises(Exception, match=lost.key_id) as caught:
        rotate_master_key(db, home)
    assert lost.encode() not in str(caught.value) and current.encode() not in str(caught.value)
    assert _key_ids(db) == [lost.key_id]


def test_api_key_rotation_keeps_old_inactive_until_grace_ends(db: Database,
                                                               keyring: Keyring) -> None:
    user_id = make_user(db, "gina")
    first, second = make_secret_text(), make_secret_text()
    with db.unit_of_work(user_id) as conn:
        account = accounts.add_account(conn, user_id, "main", "mainnet")
        credentials.add_credential(conn, keyring, account.account_id, "OLD", Secret(first))
        credentials.rotate_credential(conn, keyring, account.account_id, "NEW", Secret(second),
                                      grace=timedelta(hours=1))
        active = credentials.load_active_credential(conn, keyring, account.account_id)
        listed = {c.api_key_id: c.is_active for c in credentials.list_credentials(conn)}
    assert active.api_key_id == "NEW" and active.secret.reveal() == second
    assert listed == {"OLD": False, "NEW": True}
    assert second not in repr(active) and first not in repr(active)
    with db.admin() as conn:
        assert conn.execute("SELECT gridbot_purge_rotated_credentials()").fetchone()[0] == 0
        assert conn.execute("SELECT gridbot_purge_rotated_credentials(now() + interval '2 h')"
                            ).fetchone()[0] == 1


def test_master_key_from_wrong_environment_fails_with_clear_error(
        db: Database, keyring: Keyring, master_key: MasterKey) -> None:
    stored = _store(db, keyring, 1)
    impostor = make_master_key()
    wrong = Keyring(active=impostor, keys={master_key.key_id: impostor}, source="test")
    with pytest.raises(Exception, match="wrong master key") as caught:
        _decrypt_all(db, wrong)
    message = str(caught.value)
    assert impostor.encode() not in message and master_key.encode() not in message
    assert not any(s in message for s in stored.values())
