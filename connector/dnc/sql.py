"""SQL pieces shared by the store and the staged import: hash ranges, insert-or-skip, driver placeholders, the
own list's single version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, Table, and_, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from connector.models import RegisterList
from connector.store.dnc_tables import dnc_current, dnc_versions

__all__ = [
    "ROWS_PER_CHUNK",
    "change_own_size",
    "date_reader",
    "hash_ranges",
    "in_range",
    "insert_ignoring_duplicates",
    "own_version",
    "placeholder",
]

ROWS_PER_CHUNK = 100_000
"""Rows copied or deleted per transaction: each holds the write lock for a fraction of a second."""


def hash_ranges(rows: int, per_chunk: int = ROWS_PER_CHUNK) -> list[tuple[bytes | None, bytes | None]]:
    """Split the hash space into equal ranges of about ``per_chunk`` of ``rows`` each (hashes are uniform)."""
    parts = min(max(1, -(-rows // per_chunk)), 1 << 16)
    bounds: list[bytes | None] = [None]
    bounds += [(i * (1 << 32) // parts).to_bytes(4, "big") for i in range(1, parts)]
    bounds.append(None)
    return list(pairwise(bounds))


def in_range(column: Any, low: bytes | None, high: bytes | None) -> Any:
    """``low <= column < high``, an open end where a bound is None."""
    clauses = []
    if low is not None:
        clauses.append(column >= low)
    if high is not None:
        clauses.append(column < high)
    return and_(true(), *clauses)


def insert_ignoring_duplicates(connection: Connection, table: Table) -> Any:
    """``INSERT`` that skips rows whose key exists (SQLite and PostgreSQL spell it ``ON CONFLICT DO NOTHING``);
    its ``rowcount`` is the number of rows inserted (SQLAlchemy keeps it only when asked, and psycopg's is
    what counts the own list's size and an import's stored numbers)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)


def placeholder(connection: Connection) -> str:
    """The driver's positional parameter marker: the hot statements skip SQLAlchemy's per-value processing."""
    style = connection.dialect.paramstyle
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise NotImplementedError(f"driver paramstyle {style!r} is not supported by the do-not-call store")


def date_reader(connection: Connection, column: Any) -> Callable[[Any], Any]:
    """How a raw driver value of a Date column becomes a ``date`` (SQLite returns ISO text)."""
    dialect = connection.dialect
    process = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return process if process is not None else (lambda value: value)


def own_version(db: Connection, *, today: date, now: datetime) -> int:
    """The own list's single version, created (and committed) on first use; a racing creator's wins."""
    query = select(dnc_current.c.version_id).where(dnc_current.c.list == RegisterList.OWN.value)
    found = db.execute(query).scalar_one_or_none()
    if found is not None:
        return int(found)
    try:
        version: int = db.execute(
            insert(dnc_versions)
            .values(
                list=RegisterList.OWN.value, as_of=today, state="current", started_at=now, heartbeat_at=now
            )
            .returning(dnc_versions.c.id)
        ).scalar_one()
        db.execute(
            insert(dnc_current).values(
                list=RegisterList.OWN.value, version_id=version, as_of=today, size=0, updated_at=now
            )
        )
        db.commit()
    except IntegrityError:
        db.rollback()
        return int(db.execute(query).scalar_one())
    return int(version)


def change_own_size(db: Connection, delta: int, *, today: date, now: datetime) -> None:
    """Keep the own list's size and date of last change with its pointer (``status`` reads them there)."""
    db.execute(
        update(dnc_current)
        .where(dnc_current.c.list == RegisterList.OWN.value)
        .values(size=dnc_current.c.size + delta, as_of=today, updated_at=now)
    )
