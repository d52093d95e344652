"""Master keys as the database expects them: a mistyped key directory never gets a stray
key (``daemons/db/keyring.py``), and a broken key source is one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemons.db.session import Database
from daemons.secrets.keys import KeyDirectory
from tests.fixtures.cli import ok, refused, row_counts
from tests.fixtures.secrets import make_secret_text


@pytest.fixture
def stored(db_env: dict[str, str]) -> str:
    """alice's account with one credential under the key directory's first key; its id."""
    ok("users", "add", "alice")
    ok("accounts", "add", "main", "--user", "alice", "--env", "testnet")
    out = ok("credentials", "add", "--account", "main", "--user", "alice", "--api-key", "AK1",
             stdin=make_secret_text() + "\n")
    return out.split("master key ")[1].rstrip(")\n")


@pytest.mark.parametrize("command", [
    ("keys", "list"), ("keys", "rotate"), ("keys", "retire"),
    ("credentials", "rotate", "--account", "main", "--user", "alice", "--api-key", "AK2"),
])
def test_keyring_mistyped_key_dir_is_refused_naming_it_and_the_expected_key_ids(
        stored: str, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        command: tuple[str, ...]) -> None:
    typo = tmp_path / "kyes"
    monkeypatch.setenv("GRIDBOT_KEY_DIR", str(typo))
    before = row_counts(db)
    line = refused(*command, stdin=make_secret_text() + "\n")
    assert line.startswith(f"error: no master key in {typo}")
    if command[:2] != ("keys", "retire"):  # retire works on the directory alone
        assert line == (
            f"error: no master key in {typo}, but the database's credentials are encrypted "
            f"under {stored}: point GRIDBOT_KEY_DIR (or GRIDBOT_HOME) at the directory that "
            "holds them, or set GRIDBOT_MASTER_KEY")
    assert not typo.exists() and row_counts(db) == before


def test_keyring_keys_init_makes_the_first_key_and_keys_list_never_does(
        db_env: dict[str, str]) -> None:
    keys = Path(db_env["GRIDBOT_HOME"]) / "keys"
    assert "`gridbot keys init` creates the first one" in refused("keys", "list")
    assert not keys.exists()
    created = ok("keys", "init")
    key_id = KeyDirectory(keys).load().active.key_id
    assert created == f"master key {key_id} created in {keys}\n"
    assert "already holds a master key" in refused("keys", "init")
    assert key_id in ok("keys", "list")


@pytest.mark.parametrize("value", [",", "not-a-key"])
def test_keyring_bad_environment_key_is_one_line(db_env: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 value: str) -> None:
    monkeypatch.setenv("GRIDBOT_MASTER_KEY", value)
    assert "GRIDBOT_MASTER_KEY" in refused("keys", "list")


@pytest.mark.parametrize("breakage", ["file", "binary ACTIVE"])
def test_keyring_broken_key_directory_is_one_line(stored: str, db_env: dict[str, str],
                                                  breakage: str) -> None:
    keys = Path(db_env["GRIDBOT_HOME"]) / "keys"
    if breakage == "file":
        for path in keys.iterdir():
            path.unlink()
        keys.rmdir()
        keys.write_bytes(b"\x00\xff")
    else:
        (keys / "ACTIVE").write_bytes(b"\xff\xfe\x00")
    assert str(keys) in refused("keys", "list")


def test_keyring_open_key_directory_ignores_the_environment_key(
        stored: str, db: Database, db_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster's runs read the key directory even where GRIDBOT_MASTER_KEY is exported."""
    from daemons.db.keyring import open_key_directory
    from daemons.secrets.keys import MissingKeyError
    from tests.fixtures.secrets import make_master_key

    monkeypatch.setenv("GRIDBOT_MASTER_KEY", make_master_key().encode())
    home = Path(db_env["GRIDBOT_HOME"])
    keyring = open_key_directory(db, home)
    assert sorted(keyring.keys) == [stored] and keyring.source != "GRIDBOT_MASTER_KEY"
    with pytest.raises(MissingKeyError, match=stored):
        open_key_directory(db, home / "elsewhere")
