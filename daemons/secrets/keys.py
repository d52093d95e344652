"""Master keys (key-encryption keys): where they come from and how they are named.

A master key is 32 random bytes, written as URL-safe base64. It comes from one of two
places, never from the database:

* ``GRIDBOT_MASTER_KEY``: one key, or several separated by commas. The first encrypts;
  the others only decrypt (older keys during a rotation).
* otherwise a key directory (``GRIDBOT_KEY_DIR``, default ``GRIDBOT_HOME/keys``, mode
  0700) of files ``<key id>.key`` (mode 0600), with ``ACTIVE`` naming the key that
  encrypts and, while a rotation runs, ``PENDING`` naming the key it moves to. The first
  key is created only on purpose: ``gridbot keys init``, or the first credential stored
  while the database holds none (``daemons/db/keyring.py``). A directory without a key is
  otherwise an error, so a mistyped ``GRIDBOT_KEY_DIR`` never yields a stray new key.

A key's id is derived from the key (a truncated SHA-256 under a fixed label): stored
beside every credential, it says which key unwraps the credential's data key and reveals
nothing usable about the key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from daemons.secrets.redaction import register_secret

KEY_BYTES = 32
_KEY_ID = re.compile(r"mk-[0-9a-f]{16}")
ENV_VAR = "GRIDBOT_MASTER_KEY"
DIR_ENV_VAR = "GRIDBOT_KEY_DIR"


class SecretsError(Exception):
    """A key or secret problem, explained in one line without any key material."""


class KeyFormatError(SecretsError):
    """A master key is not 32 bytes of URL-safe base64."""


class MissingKeyError(SecretsError):
    """The master key a credential was wrapped with is not available."""


class KeyFileError(SecretsError):
    """The key directory is unusable (e.g. readable by other users)."""


class NoMasterKey(KeyFileError):
    """The key directory holds no key: nothing was created (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        super().__init__(f"no master key in {directory}: `gridbot keys init` creates the first"
                         f" one (or set {ENV_VAR})")


class MasterKey:
    """One master key; its repr shows the id only."""

    __slots__ = ("key_id", "_material")

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes | bytearray) or len(material) != KEY_BYTES:
            raise KeyFormatError(f"a master key must be {KEY_BYTES} bytes")
        self._material = bytes(material)
        self.key_id = key_id_for(self._material)
        register_secret(self.encode())

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def decode(cls, text: str, *, source: str) -> MasterKey:
        """Parse URL-safe base64; the error names ``source``, never the text."""
        try:
            raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise KeyFormatError(f"{source}: not URL-safe base64") from None
        if len(raw) != KEY_BYTES:
            raise KeyFormatError(f"{source}: a master key must be {KEY_BYTES} bytes")
        return cls(raw)

    def encode(self) -> str:
        return base64.urlsafe_b64encode(self._material).decode("ascii")

    def material(self) -> bytes:
        """The raw key, for :mod:`daemons.secrets.envelope` only."""
        return self._material

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    def __reduce__(self) -> object:
        raise TypeError("master keys are not picklable")


def key_id_for(material: bytes) -> str:
    """Name a key by a 64-bit digest: enough to tell keys apart, useless to an attacker."""
    return "mk-" + hashlib.sha256(b"gridbot master key id\x00" + material).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The keys this process can use: ``active`` encrypts, any of ``keys`` decrypts."""

    active: MasterKey
    keys: Mapping[str, MasterKey] = field(repr=False)
    source: str

    def get(self, key_id: str) -> MasterKey:
        try:
            return self.keys[key_id]
        except KeyError:
            raise MissingKeyError(
                f"master key {key_id} is not available ({self.source} has "
                f"{', '.join(sorted(self.keys))}); restore it or add it to {ENV_VAR}"
            ) from None

    @classmethod
    def of(cls, active: MasterKey, *others: MasterKey, source: str = "memory") -> Keyring:
        keys = {k.key_id: k for k in (active, *others)}
        return cls(active=active, keys=keys, source=source)


def load_keyring(home: Path, environ: Mapping[str, str] | None = None, *,
                 create: bool = False) -> Keyring:
    """Return the keyring the environment configures.

    A key directory without a key raises :class:`NoMasterKey` unless ``create`` (then its
    first key is made): only callers that know no credential needs an older key pass it.
    """
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VAR):
        parts = [p for p in environ[ENV_VAR].split(",") if p.strip()]
        if not parts:
            raise KeyFormatError(f"{ENV_VAR} holds no key (unset it to use the key directory)")
        keys = [MasterKey.decode(p, source=f"{ENV_VAR} (key {i + 1})")
                for i, p in enumerate(parts)]
        return Keyring.of(*keys, source=ENV_VAR)
    return KeyDirectory(key_directory(home, environ)).load(create=create)


def key_directory(home: Path, environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    override = environ.get(DIR_ENV_VAR)
    return Path(override).expanduser() if override else Path(home) / "keys"


class KeyDirectory:
    """Key files in one directory, with the ``ACTIVE`` and ``PENDING`` pointers."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"KeyDirectory({str(self.path)!r})"

    def load(self, *, create: bool = False) -> Keyring:
        """Read every key; with ``create``, make the first key if there is none (else
        :class:`NoMasterKey`, and a missing directory is not created either)."""
        with self._locked(create=create):
            active_id = self._read_pointer("ACTIVE")
            if active_id is None:
                if self._key_files():
                    raise KeyFileError(f"{self.path}: no ACTIVE key pointer")
                if not create:
                    raise NoMasterKey(self.path)
                active_id = self._create_first().key_id
            keys = {key.key_id: key for key in self._read_keys()}
        if active_id not in keys:
            raise KeyFileError(f"{self.path}: ACTIVE names {active_id}, which has no key file")
        return Keyring(active=keys[active_id], keys=keys, source=str(self.path))

    def init(self) -> MasterKey:
        """Create the directory's first key (``gridbot keys init``); refuse if it has one."""
        with self._locked(create=True):
            if self._read_pointer("ACTIVE") is not None or self._key_files():
                raise KeyFileError(f"{self.path} already holds a master key")
            return self._create_first()

    def begin_rotation(self) -> MasterKey:
        """Return the key a rotation moves to: the pending one, or a new one made now."""
        with self._locked(create=False):
            pending_id = self._read_pointer("PENDING")
            if pending_id is not None:
                for key in self._read_keys():
                    if key.key_id == pending_id:
                        return key
                raise KeyFileError(
                    f"{self.path}: PENDING names {pending_id}, which has no key file")
            key = MasterKey.generate()
            self._write_key(key)
            self._write_pointer("PENDING", key.key_id)
            return key

    def complete_rotation(self, key_id: str) -> None:
        """Make ``key_id`` the active key and end the rotation."""
        with self._locked(create=False):
            self._write_pointer("ACTIVE", key_id)
            (self.path / "PENDING").unlink(missing_ok=True)

    def pending_id(self) -> str | None:
        return self._read_pointer("PENDING")

    def remove_key(self, key_id: str) -> None:
        """Delete a retired key file (the caller checked nothing still uses it)."""
        with self._locked(create=False):
            if key_id in {self._read_pointer("ACTIVE"), self._read_pointer("PENDING")}:
                raise KeyFileError(f"{key_id} is the active or pending key")
            (self.path / f"{key_id}.key").unlink()

    # -- files ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, create: bool) -> Iterator[None]:
        """Hold the directory's lock; make the directory (mode 0700) only with ``create``."""
        if self.path.exists() and not self.path.is_dir():
            raise KeyFileError(f"{self.path}: the key directory is not a directory")
        if create:
            try:
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as e:
                raise KeyFileError(f"{self.path}: cannot create the key directory "
                                   f"({e.strerror or type(e).__name__})") from None
        elif not self.path.exists():
            raise NoMasterKey(self.path)
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise KeyFileError(f"{self.path}: key directory is open to other users "
                               f"(mode {mode:04o}); chmod 700 it")
        try:
            handle = open(self.path / ".lock", "a+")
        except OSError as e:
            raise KeyFileError(f"{self.path}: cannot lock the key directory "
                               f"({e.strerror or type(e).__name__})") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _create_first(self) -> MasterKey:
        first = MasterKey.generate()
        self._write_key(first)
        self._write_pointer("ACTIVE", first.key_id)
        return first

    def _key_files(self) -> list[Path]:
        return sorted(self.path.glob("mk-*.key"))

    def _read_keys(self) -> list[MasterKey]:
        keys = []
        for path in self._key_files():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise KeyFileError(f"{path}: key file is readable by other users "
                                   f"(mode {mode:04o}); chmod 600 it")
            key = MasterKey.decode(_read_text(path), source=str(path))
            if f"{key.key_id}.key" != path.name:
                raise KeyFileError(f"{path}: file name does not match the key it holds")
            keys.append(key)
        return keys

    def _write_key(self, key: MasterKey) -> None:
        target = self.path / f"{key.key_id}.key"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.encode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.path)

    def _read_pointer(self, name: str) -> str | None:
        path = self.path / name
        if not path.exists():
            return None
        key_id = _read_text(path).strip()
        if key_id and not _KEY_ID.fullmatch(key_id):
            raise KeyFileError(f"{path}: does not hold a key id (mk- and 16 hex digits)")
        return key_id or None

    def _write_pointer(self, name: str, key_id: str) -> None:
        tmp = self.path / f".{name}.tmp"
        with open(tmp, "w") as handle:
            handle.write(key_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path / name)
        _fsync_dir(self.path)


def _read_text(path: Path) -> str:
    """A key or pointer file's text; an unreadable or binary file is a one-line error."""
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a text file (binary content)") from None
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read it ({e.strerror or type(e).__name__})") from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
