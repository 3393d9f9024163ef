"""The do-not-call lists in the store: the hash key's fingerprint, the lists in use, lookups, the own list, clean-up.

A national register is replaced without ever being half there (``staging``): a new copy is written as a new
version, the list's ``dnc_current`` pointer is switched in one short transaction, and only then are the old
version's rows deleted. Lookups read through the pointer in a single statement, so they see the old copy whole
until the switch and the new one whole after it. A version left ``loading`` by a killed import, or ``retired``
by an interrupted clean-up, is deleted by the next import (``collect_garbage``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, delete, func, select, update

from connector.dnc.sql import (
    change_own_size,
    date_reader,
    hash_ranges,
    in_range,
    insert_ignoring_duplicates,
    own_version,
    placeholder,
)
from connector.dnc.staging import StagedImport, is_abandoned, staged_import
from connector.models import RegisterList
from connector.store.dnc_tables import dnc_current, dnc_keys, dnc_numbers, dnc_secrets, dnc_versions
from connector.store.engine import scrub
from connector.store.tables import record_states

__all__ = ["CurrentList", "DncStore", "Hits"]

_SECRET_NAME = "number_hash"
_LOOKUP_CHUNK = 30_000
_REGISTERS = {register.value: register for register in RegisterList}
_MMAP_BYTES = 256 * 2**20


def _map_sqlite_file(db: Connection) -> None:
    """Let SQLite read the file through a memory map (once per pooled connection): lookups touch random pages
    of a large table, and a mapped page costs no read call and no copy. The pages are the OS's file cache."""
    if db.dialect.name == "sqlite" and not db.info.get("dnc_mmap"):
        db.exec_driver_sql(f"PRAGMA mmap_size={_MMAP_BYTES}")
        db.info["dnc_mmap"] = True


@dataclass(frozen=True, slots=True)
class CurrentList:
    """The version of a list in use, the date of its copy and how many numbers it holds."""

    list: RegisterList
    version_id: int
    as_of: date
    size: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Hits:
    """One lookup's answer: the date of every list in use, and which hashes each of them holds (and since)."""

    as_of: dict[RegisterList, date]
    listed: dict[bytes, list[tuple[RegisterList, date | None]]]


class DncStore:
    """The do-not-call tables of one store (SQLite or PostgreSQL through SQLAlchemy)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def legacy_secret(self) -> bytes | None:
        """The hash key a store from before kept itself (``keys.unlock`` moves it out), else None."""
        query = select(dnc_secrets.c.secret).where(dnc_secrets.c.name == _SECRET_NAME)
        with self._engine.connect() as db:
            found = db.execute(query).scalar_one_or_none()
        return None if found is None else bytes(found)

    def adopt_key(self, fingerprint: bytes, *, now: datetime) -> None:
        """Keep the key's fingerprint and delete the key itself, leaving no copy in the file or its log."""
        with self._engine.begin() as db:
            db.execute(insert_ignoring_duplicates(db, dnc_keys).values(
                name=_SECRET_NAME, fingerprint=fingerprint, created_at=now
            ))  # fmt: skip
            db.execute(delete(dnc_secrets).where(dnc_secrets.c.name == _SECRET_NAME))
        scrub(self._engine)

    def key_fingerprint(self) -> bytes | None:
        with self._engine.connect() as db:
            found = db.execute(
                select(dnc_keys.c.fingerprint).where(dnc_keys.c.name == _SECRET_NAME)
            ).scalar_one_or_none()
        return None if found is None else bytes(found)

    def record_key_fingerprint(self, fingerprint: bytes, *, now: datetime) -> bytes:
        """Keep the fingerprint of the first key used; returns the one kept (another process's if it won)."""
        with self._engine.begin() as db:
            db.execute(insert_ignoring_duplicates(db, dnc_keys).values(
                name=_SECRET_NAME, fingerprint=fingerprint, created_at=now
            ))  # fmt: skip
        kept = self.key_fingerprint()
        assert kept is not None
        return kept

    def drop_every_hash(self) -> None:
        """A key rotation: delete every list, every record's screened numbers and the old key's fingerprint,
        in one transaction, leaving no fragment in the file. Records screened so far keep their flags until the
        next full run decides them again."""
        with self._engine.begin() as db:
            for table in (dnc_numbers, dnc_current, dnc_versions, dnc_keys, dnc_secrets):
                db.execute(delete(table))
            db.execute(
                update(record_states)
                .where(record_states.c.phones.is_not(None))
                .values(phones=None, screened_with=None)
            )
        scrub(self._engine)

    def holds_hashes(self) -> bool:
        """Whether any number hash is stored: on a list, or as a record's screened numbers."""
        with self._engine.connect() as db:
            listed = db.execute(select(dnc_numbers.c.version_id).limit(1)).first()
            screened = db.execute(
                select(record_states.c.crm).where(record_states.c.screened_with.is_not(None)).limit(1)
            ).first()
        return listed is not None or screened is not None

    def current(self) -> dict[RegisterList, CurrentList]:
        with self._engine.connect() as db:
            rows = db.execute(select(dnc_current)).all()
        return {
            RegisterList(row.list): CurrentList(
                RegisterList(row.list), row.version_id, row.as_of, row.size, row.updated_at
            )
            for row in rows
            if row.list in RegisterList.__members__
        }

    def lookup(self, hashes: Collection[bytes]) -> Hits:
        """Every list in use and the given hashes each holds, in one query (per 30,000 distinct hashes)."""
        unique = list(dict.fromkeys(hashes))
        hits = Hits({}, {})
        with self._engine.connect() as db:
            for start in range(0, max(len(unique), 1), _LOOKUP_CHUNK):
                self._lookup_chunk(db, unique[start : start + _LOOKUP_CHUNK], hits)
        return hits

    @staticmethod
    def _lookup_chunk(db: Connection, hashes: Sequence[bytes], hits: Hits) -> None:
        """Every list in use joined with the given hashes it holds: one statement, so one consistent snapshot
        (an import switching a pointer meanwhile is seen either wholly or not at all)."""
        _map_sqlite_file(db)
        marks = ",".join([placeholder(db)] * len(hashes)) or "NULL"
        query = (
            "SELECT c.list, c.as_of, n.number_hash, n.since FROM dnc_current c"
            " LEFT OUTER JOIN dnc_numbers n ON n.version_id = c.version_id"
            f" AND n.number_hash IN ({marks})"
        )
        as_of_type, since_type = date_reader(db, dnc_current.c.as_of), date_reader(db, dnc_numbers.c.since)
        rows = cast(
            "list[tuple[str, Any, bytes | None, Any]]",
            db.exec_driver_sql(query, tuple(sorted(hashes))).fetchall(),
        )
        for name, as_of, number_hash, since in rows:
            register = _REGISTERS.get(name)
            if register is None:
                continue
            if register not in hits.as_of:
                hits.as_of[register] = as_of_type(as_of)
            if number_hash is not None:
                hits.listed.setdefault(bytes(number_hash), []).append((register, since_type(since)))

    def staged_import(self) -> AbstractContextManager[StagedImport]:
        """A connection with a temporary staging table for one import (see ``staging``)."""
        return staged_import(self._engine)

    def add_own(self, number_hash: bytes, *, since: date, today: date, now: datetime) -> bool:
        """Put one number on the own list (keeping its first ``since``); False when it already was."""
        with self._engine.connect() as db:
            version = own_version(db, today=today, now=now)
            added = db.execute(
                insert_ignoring_duplicates(db, dnc_numbers).values(
                    version_id=version, number_hash=number_hash, since=since
                )
            ).rowcount
            if added:
                change_own_size(db, added, today=today, now=now)
            db.commit()
        return bool(added)

    def remove_own(self, number_hash: bytes, *, today: date, now: datetime) -> bool:
        """Take one number off the own list; False when it was not on it."""
        with self._engine.connect() as db:
            version: int | None = db.execute(
                select(dnc_current.c.version_id).where(dnc_current.c.list == RegisterList.OWN.value)
            ).scalar_one_or_none()
            if version is None:
                return False
            removed = db.execute(
                delete(dnc_numbers).where(
                    dnc_numbers.c.version_id == version, dnc_numbers.c.number_hash == number_hash
                )
            ).rowcount
            if removed:
                change_own_size(db, -removed, today=today, now=now)
            db.commit()
        return bool(removed)

    def collect_garbage(self, *, now: datetime) -> int:
        """Delete the rows of versions nobody uses: retired ones and those of killed imports. Returns how many."""
        with self._engine.connect() as db:
            in_use = {row.version_id for row in db.execute(select(dnc_current.c.version_id))}
            versions = db.execute(select(dnc_versions).where(dnc_versions.c.state != "current")).all()
        deleted = 0
        for version in versions:
            if version.id in in_use:
                continue
            if version.state == "loading" and not is_abandoned(version.owner, version.heartbeat_at, now):
                continue
            deleted += self.delete_version(version.id)
        return deleted

    def delete_version(self, version_id: int, *, rows: int | None = None) -> int:
        """Delete a version's rows in chunks (short transactions), then the version itself."""
        deleted = 0
        with self._engine.connect() as db:
            if rows is None:
                count = select(func.count()).where(dnc_numbers.c.version_id == version_id)
                rows = int(db.execute(count).scalar_one())
            for low, high in hash_ranges(rows):
                deleted += db.execute(
                    delete(dnc_numbers).where(
                        dnc_numbers.c.version_id == version_id,
                        in_range(dnc_numbers.c.number_hash, low, high),
                    )
                ).rowcount
                db.commit()
            db.execute(delete(dnc_versions).where(dnc_versions.c.id == version_id))
            db.commit()
        return deleted
