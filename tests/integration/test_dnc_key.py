"""The do-not-call hash key lives outside the store: a 0600 key file beside the configuration or
``LAWFUL_CRM_DNC_KEY``; the store keeps only its fingerprint."""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select

from connector.dnc.keys import DncKeyError, KeySource
from connector.dnc.registers import DncRegisters
from connector.models import RegisterList
from connector.settings import load_settings
from connector.store import Store, open_store
from connector.store.dnc_tables import dnc_keys, dnc_numbers, dnc_secrets

NOW = date(2026, 11, 28)
NUMBERS = [f"+44 20 7946 {i:04d}" for i in range(200)]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'store.db'}")


def registers(store: Store, key: KeySource) -> DncRegisters:
    return DncRegisters(store, key=key, today=lambda: NOW)


def import_tps(registers: DncRegisters, tmp_path: Path) -> None:
    path = tmp_path / "tps.txt"
    path.write_text("\n".join(NUMBERS) + "\n")
    registers.import_list(RegisterList.UK_TPS, path)


def listed(registers: DncRegisters, number: str) -> bool:
    """Whether the TPS register lists ``number`` (a UK number)."""
    found = registers.check(number, "GB").screenings
    return any(s.list is RegisterList.UK_TPS and s.listed for s in found)


def hashed(key: bytes, e164: str) -> bytes:
    return hmac.digest(key, e164.encode(), hashlib.sha256)[:16]


def every_stored_value(db_file: Path) -> list[bytes]:
    """Every text and blob value in every table of the file: the candidates an attacker holding it would try."""
    values: list[bytes] = []
    with sqlite3.connect(db_file) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        values.append(value)
                    elif isinstance(value, str):
                        values.append(value.encode())
                        if all(c in "0123456789abcdef" for c in value) and len(value) % 2 == 0:
                            values.append(bytes.fromhex(value))
    return values


def test_the_numbers_cannot_be_recovered_from_the_database_file_alone(store: Store, tmp_path: Path) -> None:
    """Neither the key nor anything that reproduces a stored hash is in the database file or its log."""
    key_file = tmp_path / "lawful-crm.dnc-key"
    lists = registers(store, KeySource(file=key_file))
    import_tps(lists, tmp_path)
    key = bytes.fromhex(key_file.read_text())
    assert listed(lists, "+442079460007")
    store.close()

    db_file = tmp_path / "store.db"
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    assert key not in raw and key.hex().encode() not in raw
    stored = set(every_stored_value(db_file))
    target = hashed(key, "+442079460007")
    assert target in stored, "the stored hashes are what an attacker would test guesses against"
    candidates = [value for value in stored if len(value) >= 32]
    assert all(hashed(value, "+442079460007") != target for value in candidates)


def test_the_first_command_that_needs_a_key_creates_a_0600_key_file_beside_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key file and no hashes yet: one is created, readable by its owner only, next to lawful-crm.toml."""
    monkeypatch.delenv("LAWFUL_CRM_DNC__KEY_FILE", raising=False)
    monkeypatch.delenv("LAWFUL_CRM_DNC_KEY", raising=False)
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    config = config_dir / "lawful-crm.toml"
    config.write_text('[store]\nurl = "sqlite:///lawful-crm.db"\n')
    settings = load_settings(config)
    assert settings.dnc.key_file == config_dir.resolve() / "lawful-crm.dnc-key"

    store = open_store(settings.store.url)
    registers(store, KeySource(file=settings.dnc.key_file)).unlock()
    assert stat.S_IMODE(settings.dnc.key_file.stat().st_mode) == 0o600
    assert len(bytes.fromhex(settings.dnc.key_file.read_text())) == 32


def test_the_environment_variable_gives_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """LAWFUL_CRM_DNC_KEY is read into the settings and wins over the key file."""
    monkeypatch.setenv("LAWFUL_CRM_DNC_KEY", "ab" * 32)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None)
    assert settings.dnc_key is not None
    from connector import bootstrap

    source = bootstrap.dnc_key(settings)
    assert source.load() == bytes.fromhex("ab" * 32)
    assert not source.file.exists()


def test_a_key_file_others_may_read_is_refused(store: Store, tmp_path: Path) -> None:
    """A key file with group or world permissions is refused, naming the file and the fix."""
    key_file = tmp_path / "lawful-crm.dnc-key"
    key_file.write_text("cd" * 32 + "\n")
    key_file.chmod(0o644)
    with pytest.raises(DncKeyError) as refused:
        registers(store, KeySource(file=key_file)).unlock()
    assert str(key_file) in str(refused.value) and "0644" in str(refused.value)
    assert any("chmod 600" in problem for problem in refused.value.problems)


def test_a_wrong_key_is_a_clear_error_and_never_echoed(store: Store, tmp_path: Path) -> None:
    """Hashes made with one key cannot be screened with another: the command stops and says so."""
    import_tps(registers(store, KeySource(file=tmp_path / "k1", value="11" * 32)), tmp_path)
    with pytest.raises(DncKeyError) as wrong:
        registers(store, KeySource(file=tmp_path / "k2", value="22" * 32)).unlock()
    message = " ".join([str(wrong.value), *wrong.value.problems])
    assert "LAWFUL_CRM_DNC_KEY is not the key this store's do-not-call hashes were made with" in message
    assert "22" * 8 not in message and "11" * 8 not in message


def test_hashes_without_a_key_refuse_to_start(store: Store, tmp_path: Path) -> None:
    """Once hashes exist, a missing key file is never replaced by a new key (that would unscreen everyone)."""
    key_file = tmp_path / "lawful-crm.dnc-key"
    import_tps(registers(store, KeySource(file=key_file)), tmp_path)
    key_file.unlink()
    with pytest.raises(DncKeyError) as missing:
        registers(store, KeySource(file=key_file)).unlock()
    assert "no key was given" in str(missing.value)
    assert not key_file.exists()


def test_a_store_that_kept_its_key_itself_moves_it_out_on_first_open(store: Store, tmp_path: Path) -> None:
    """A store from before (key in ``dnc_secrets``): the key moves to the key file, and the store forgets it."""
    legacy = bytes(range(32))
    import_tps(registers(store, KeySource(file=tmp_path / "unused", value=legacy.hex())), tmp_path)
    with store.engine.begin() as db:  # the state such a store was in: its key inside, no fingerprint
        db.execute(delete(dnc_keys))
        db.execute(
            insert(dnc_secrets).values(name="number_hash", secret=legacy, created_at=datetime.now(UTC))
        )

    key_file = tmp_path / "lawful-crm.dnc-key"
    lists = registers(store, KeySource(file=key_file))
    assert listed(lists, "+442079460042")
    assert key_file.read_text().strip() == legacy.hex()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with store.engine.connect() as db:
        assert db.execute(select(dnc_secrets)).all() == []
        assert db.execute(select(dnc_numbers)).first() is not None
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    assert legacy not in raw


def lawful_crm(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in ``cwd``, with no do-not-call key from the environment: only the configured key file."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LAWFUL_CRM_DNC")}
    command = [sys.executable, "-c", "from connector.cli import app; app()", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=env, check=False)


def test_without_the_stores_key_dnc_check_sync_and_serve_exit_2_naming_the_key_file(tmp_path: Path) -> None:
    """`dnc import` creates the key file; once it is gone, `dnc check`, `sync` and `serve` stop with exit 2
    before any CRM call, naming the file, with no traceback."""
    (tmp_path / "lawful-crm.toml").write_text(
        '[store]\nurl = "sqlite:///lawful-crm.db"\n'
        '[salesforce]\nauth = "session"\nsession_id = "unused"\ninstance_url = "http://127.0.0.1:9"\n'
    )
    (tmp_path / "own.txt").write_text("+44 20 7946 0001\n")
    imported = lawful_crm(tmp_path, "dnc", "import", "own.txt", "--list", "OWN", "--country", "GB")
    assert imported.returncode == 0, imported.stderr
    key_file = tmp_path / "lawful-crm.dnc-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    key_file.unlink()
    for args in (
        ["dnc", "check", "+44 20 7946 0001", "--country", "GB"],
        ["sync", "--crm", "salesforce"],
        ["serve", "--port", "0"],
    ):
        refused = lawful_crm(tmp_path, *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "no key was given" in refused.stderr and str(key_file) in refused.stderr
        assert "Traceback" not in refused.stderr


def test_rotating_the_key_deletes_every_hash_and_the_next_import_uses_the_new_key(
    store: Store, tmp_path: Path
) -> None:
    """rotate-key: the old lists and screened numbers are gone, a new 0600 key file replaces the old one, and
    lists imported afterwards answer again."""
    key_file = tmp_path / "lawful-crm.dnc-key"
    import_tps(registers(store, KeySource(file=key_file)), tmp_path)
    old_key = key_file.read_text()

    registers(store, KeySource(file=key_file)).rotate_key()
    assert key_file.read_text() != old_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with store.engine.connect() as db:
        assert db.execute(select(dnc_numbers)).first() is None
    fresh = registers(store, KeySource(file=key_file))
    assert not listed(fresh, "+442079460007")
    import_tps(fresh, tmp_path)
    assert listed(fresh, "+442079460007")
    with pytest.raises(DncKeyError):
        registers(store, KeySource(file=tmp_path / "old", value=old_key.strip())).unlock()


def test_rotate_key_asks_for_yes_before_deleting_anything(tmp_path: Path) -> None:
    """Without --yes the command explains what it would delete and exits 2."""
    (tmp_path / "own.txt").write_text("+44 20 7946 0001\n")
    assert (
        lawful_crm(tmp_path, "dnc", "import", "own.txt", "--list", "OWN", "--country", "GB").returncode == 0
    )
    refused = lawful_crm(tmp_path, "dnc", "rotate-key")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert (tmp_path / "lawful-crm.dnc-key").exists()
    rotated = lawful_crm(tmp_path, "dnc", "rotate-key", "--yes")
    assert rotated.returncode == 0, rotated.stderr
    assert "import every register and the own list again" in rotated.stdout
