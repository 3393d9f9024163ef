"""One import's numbers, staged in a temporary table of its own connection, then applied in one of two ways.

Staging changes nothing in the store, and a killed process leaves nothing behind (the temporary table dies
with its connection). ``replace`` copies the numbers, sorted, into a new version of a register in chunks with
a commit after each (no long write lock for the sync or the webhook worker), keeps a heartbeat on the version
while it does, then switches the register's ``dnc_current`` pointer in one short compare-and-set transaction.
``merge_own`` adds the numbers to the own list in one transaction.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    insert,
    literal,
    null,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from connector.dnc.sql import (
    change_own_size,
    hash_ranges,
    in_range,
    insert_ignoring_duplicates,
    own_version,
    placeholder,
)
from connector.models import RegisterList
from connector.store.dnc_tables import dnc_current, dnc_numbers, dnc_versions

__all__ = ["ABANDONED_AFTER", "StagedImport", "is_abandoned", "staged_import"]

ABANDONED_AFTER = timedelta(minutes=15)
"""A loading version without a heartbeat for this long belongs to an import that is gone."""

_staging = Table(
    "dnc_staging",
    MetaData(),
    Column("number_hash", LargeBinary(16), nullable=False),
    prefixes=["TEMPORARY"],
)
# Created after the staging table is filled (one sort instead of millions of random index inserts).
_STAGING_INDEX = text("CREATE INDEX ix_dnc_staging_number_hash ON dnc_staging (number_hash)")


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_abandoned(owner: str | None, heartbeat_at: datetime, now: datetime) -> bool:
    """A loading version whose importer is gone: no heartbeat for a while, or a dead process on this host."""
    if now - heartbeat_at > ABANDONED_AFTER:
        return True
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def staged_import(engine: Engine) -> Iterator[StagedImport]:
    """One import's connection with its own temporary staging table, dropped when the import ends."""
    with engine.connect() as connection:
        _staging.drop(connection, checkfirst=True)
        _staging.create(connection)
        connection.commit()
        try:
            yield StagedImport(connection)
        finally:
            connection.rollback()
            _staging.drop(connection)
            connection.commit()


class StagedImport:
    """The hashes of one import file, staged on one connection, and the two ways to apply them."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self.staged = 0

    def add(self, hashes: Sequence[bytes]) -> None:
        """Stage one batch (the driver's executemany, no per-row SQLAlchemy work: this runs millions of times)."""
        if not hashes:
            return
        sql = f"INSERT INTO dnc_staging (number_hash) VALUES ({placeholder(self._db)})"
        self._db.exec_driver_sql(sql, [(h,) for h in hashes])
        self._db.commit()
        self.staged += len(hashes)

    def replace(
        self,
        register: RegisterList,
        *,
        as_of: date,
        expected: int | None,
        clock: Callable[[], datetime],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[int, int] | None:
        """Make the staged numbers the register's new version, if ``expected`` is still the one in use.

        Returns (new version id, numbers stored), or None when another import switched the list meanwhile.
        A version that does not become current (conflict, or any failure on the way) is left ``retired``
        for ``collect_garbage``; if even that cannot be written, its owner and heartbeat tell a later import.
        """
        db = self._db
        now = clock()
        version: int = db.execute(
            insert(dnc_versions)
            .values(
                list=register.value,
                as_of=as_of,
                state="loading",
                owner=_owner(),
                started_at=now,
                heartbeat_at=now,
            )
            .returning(dnc_versions.c.id)
        ).scalar_one()
        db.commit()
        try:
            stored = self._copy(version, clock, progress)
            switched = _switch(db, register, version, expected, as_of=as_of, size=stored, now=clock())
        except BaseException:
            with suppress(Exception):
                _retire(db, version)
            raise
        if not switched:
            _retire(db, version)
            return None
        db.commit()
        return version, stored

    def _copy(
        self, version: int, clock: Callable[[], datetime], progress: Callable[[int], None] | None
    ) -> int:
        """Copy the staged hashes into ``version`` in sorted chunks, one short transaction each."""
        db = self._db
        db.execute(_STAGING_INDEX)
        db.commit()
        stored = 0
        for low, high in hash_ranges(self.staged):
            rows = select(literal(version), _staging.c.number_hash, null())
            rows = rows.where(in_range(_staging.c.number_hash, low, high)).order_by(_staging.c.number_hash)
            stored += db.execute(
                insert_ignoring_duplicates(db, dnc_numbers).from_select(
                    ["version_id", "number_hash", "since"], rows
                )
            ).rowcount
            db.execute(update(dnc_versions).where(dnc_versions.c.id == version).values(heartbeat_at=clock()))
            db.commit()
            if progress is not None:
                progress(stored)
        return stored

    def merge_own(self, *, since: date, today: date, now: datetime) -> int:
        """Add the staged numbers to the own list in one transaction; returns how many were new."""
        db = self._db
        version = own_version(db, today=today, now=now)
        rows = select(literal(version), _staging.c.number_hash, literal(since, Date)).where(true())
        added = db.execute(
            insert_ignoring_duplicates(db, dnc_numbers).from_select(
                ["version_id", "number_hash", "since"], rows
            )
        ).rowcount
        change_own_size(db, added, today=today, now=now)
        db.commit()
        return int(added)


def _switch(
    db: Connection,
    register: RegisterList,
    version: int,
    expected: int | None,
    *,
    as_of: date,
    size: int,
    now: datetime,
) -> bool:
    """Point the register at ``version`` and retire ``expected`` (compare-and-set), as the first statements of
    the caller's transaction: on False the caller rolls back and nothing changed."""
    pointer = {"version_id": version, "as_of": as_of, "size": size, "updated_at": now}
    if expected is None:
        try:
            db.execute(insert(dnc_current).values(list=register.value, **pointer))
        except IntegrityError:
            return False
    else:
        moved = db.execute(
            update(dnc_current)
            .where(dnc_current.c.list == register.value, dnc_current.c.version_id == expected)
            .values(**pointer)
        ).rowcount
        if not moved:
            return False
        db.execute(update(dnc_versions).where(dnc_versions.c.id == expected).values(state="retired"))
    db.execute(
        update(dnc_versions)
        .where(dnc_versions.c.id == version)
        .values(state="current", owner=None, heartbeat_at=now)
    )
    return True


def _retire(db: Connection, version: int) -> None:
    """Give up ``version``: roll back what is pending and leave it for ``collect_garbage``."""
    db.rollback()
    db.execute(update(dnc_versions).where(dnc_versions.c.id == version).values(state="retired"))
    db.commit()
