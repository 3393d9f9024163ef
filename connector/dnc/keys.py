"""The key of the do-not-call number hashes, kept outside the store.

Whoever holds the store file and the key can test candidate numbers against the hashes (``hashing``): a
guessed million numbers take about a second. So the key never lives in the store. It comes from the
``LAWFUL_CRM_DNC_KEY`` environment variable (a secrets manager can set it) or from a key file beside the
configuration (``[dnc] key_file``), which the first command that needs a key creates with mode 0600; a key file
that others may read is refused. The store keeps only the key's fingerprint, so a wrong key is told apart from a
right one, and an installation whose store holds hashes never starts without its key.

A store from before this held the key itself (table ``dnc_secrets``): the first command that opens it writes
that key to the key file and deletes it from the store (``unlock``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from connector.dnc.hashing import SECRET_BYTES, new_secret
from connector.dnc.store import DncStore
from connector.errors import ConfigurationError

__all__ = ["KEY_ENV", "DncKeyError", "KeySource", "fingerprint", "rotate", "unlock"]

KEY_ENV = "LAWFUL_CRM_DNC_KEY"
_KEY_FILE_LIMIT = 1024
_FINGERPRINT_LABEL = b"lawful-crm do-not-call key fingerprint"


class DncKeyError(ConfigurationError):
    """The key of the number hashes is missing, unreadable, unsafe or not the store's (fix it, exit 2)."""


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the key comes from: ``value`` (hex text from ``LAWFUL_CRM_DNC_KEY``) wins over ``file``."""

    file: Path
    value: str | None = None

    @property
    def origin(self) -> str:
        return KEY_ENV if self.value is not None else f"the key file {self.file}"

    def load(self) -> bytes | None:
        """The key given, or None when neither the variable nor the file holds one."""
        if self.value is not None:
            return parse_key(self.value, origin=KEY_ENV)
        return read_key_file(self.file)


def parse_key(text: str, *, origin: str) -> bytes:
    """32 bytes from 64 hexadecimal characters (surrounding white space ignored); never echoes the text."""
    cleaned = text.strip()
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        key = b""
    if len(key) != SECRET_BYTES:
        raise DncKeyError(
            f"{origin} does not hold a do-not-call key",
            problems=(f"a key is {SECRET_BYTES * 2} hexadecimal characters ({SECRET_BYTES} bytes)",),
        )
    return key


def read_key_file(path: Path) -> bytes | None:
    """The key in ``path``; None when there is no such file. Refuses a file that others may read."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DncKeyError(f"the key file {path} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode) or info.st_size > _KEY_FILE_LIMIT:
        raise DncKeyError(f"the key file {path} is not a small regular file")
    if info.st_mode & 0o077:
        raise DncKeyError(
            f"the key file {path} may be read by others (mode {stat.S_IMODE(info.st_mode):04o})",
            problems=(f"chmod 600 {path}",),
        )
    try:
        text = path.read_text("ascii")
    except (OSError, UnicodeError):
        raise DncKeyError(f"the key file {path} cannot be read") from None
    return parse_key(text, origin=f"the key file {path}")


def replace_key_file(path: Path, key: bytes) -> None:
    """Write ``key`` to ``path`` in place of the file there (a key rotation): a new 0600 file moved over it."""
    fresh = path.with_name(path.name + ".new")
    fresh.unlink(missing_ok=True)
    write_key_file(fresh, key)
    os.replace(fresh, path)


def write_key_file(path: Path, key: bytes) -> bytes:
    """Create ``path`` holding ``key`` (mode 0600, never replacing a file); return the key the file holds, which
    is another process's when it created the file first."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        found = read_key_file(path)
        if found is None:
            raise DncKeyError(f"the key file {path} vanished while it was created") from None
        return found
    except OSError as exc:
        raise DncKeyError(
            f"the key file {path} cannot be created ({exc.strerror})",
            problems=("set [dnc] key_file to a writable place, or give the key in " + KEY_ENV,),
        ) from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def fingerprint(key: bytes) -> bytes:
    """What the store keeps to recognise its key: an HMAC of a fixed label, useless for testing numbers."""
    return hmac.digest(key, _FINGERPRINT_LABEL, hashlib.sha256)[:16]


def unlock(store: DncStore, source: KeySource, *, now: datetime) -> bytes:
    """The key of this store's number hashes: checked against the store's fingerprint, created on first need.

    Raises DncKeyError when the store holds hashes but no key is given, or the key given is another one.
    """
    given = source.load()
    legacy = store.legacy_secret()
    if legacy is not None:
        given = _move_out(store, source, legacy, given, now=now)
    expected = store.key_fingerprint()
    if given is None:
        if expected is not None or store.holds_hashes():
            raise DncKeyError(
                f"the store holds do-not-call number hashes but no key was given ({source.file} does not exist)",
                problems=(
                    f"restore the key file {source.file} or set {KEY_ENV}",
                    "a lost key means re-importing every list (README, Security)",
                ),
            )
        given = write_key_file(source.file, new_secret())
    actual = fingerprint(given)
    if expected is None:
        expected = store.record_key_fingerprint(actual, now=now)
    if not hmac.compare_digest(expected, actual):
        raise DncKeyError(
            f"{source.origin} is not the key this store's do-not-call hashes were made with",
            problems=(
                "give the store's own key, or start over with `lawful-crm dnc rotate-key` (README, Security)",
            ),
        )
    return given


def rotate(store: DncStore, source: KeySource, *, now: datetime) -> None:
    """Start over with a new key: every hash made with the old one is deleted (lists and records' screened
    numbers), then the new key is written to the key file (or, from ``LAWFUL_CRM_DNC_KEY``, recorded as the
    store's) and its fingerprint kept. The lists must be imported again; ``sync --full`` screens the records."""
    store.drop_every_hash()
    if source.value is None:
        replace_key_file(source.file, new_secret())
    unlock(store, source, now=now)


def _move_out(
    store: DncStore, source: KeySource, legacy: bytes, given: bytes | None, *, now: datetime
) -> bytes:
    """A store from before kept its key itself: write it to the key file, then delete it from the store."""
    if given is None:
        given = write_key_file(source.file, legacy)
    if not hmac.compare_digest(given, legacy):
        raise DncKeyError(
            f"{source.origin} is not the key this store's do-not-call hashes were made with",
            problems=(f"the store still holds its own key: remove {source.file} or unset {KEY_ENV} once",),
        )
    store.adopt_key(fingerprint(legacy), now=now)
    return given
