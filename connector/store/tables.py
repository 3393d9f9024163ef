"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create and evolve them.

Nothing here holds a plain e-mail address or phone number: the audit keeps ContactFacts (kinds, dates, codes),
never the values they were derived from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Bytes",
    "UtcDateTime",
    "UtcMicros",
    "cursors",
    "decided_under",
    "decisions",
    "events",
    "locks",
    "metadata",
    "record_states",
    "runs",
]


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no zone: values are stored as naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class UtcMicros(TypeDecorator[datetime]):
    """An aware UTC datetime kept as microseconds since the epoch: 8 bytes or fewer on every backend, where
    SQLite would keep 26 characters of text. Read back to the same microsecond."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return (value - _EPOCH) // _MICROSECOND

    def process_result_value(self, value: int | None, dialect: Any) -> datetime | None:
        return None if value is None else _EPOCH + value * _MICROSECOND


class Bytes(LargeBinary):
    """A binary column whose bytes go to the driver as they are: sqlite3 and psycopg both take ``bytes``, and
    LargeBinary's own binding wraps each value in the driver's Binary first (about 4 % of a Bulk run's CPU,
    three values an audit entry)."""

    def bind_processor(self, dialect: Any) -> None:
        return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("crm", String(20), nullable=False),
    # ``full``, ``incremental``, ``dry_run`` or ``webhook``.
    Column("kind", String(20), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("outcome", String(20), nullable=False),
    Column("policy_id", String(80), nullable=False),
    Column("counts", JSON, nullable=False),
    # The mapping file's hash: a full run completed under the current mapping is what a mapping change owes.
    Column("mapping_hash", String(16)),
    # The date the run decided as of (``--as-of``; otherwise the day it ran).
    Column("as_of", Date),
)

cursors = Table(
    "cursors",
    metadata,
    Column("crm", String(20), primary_key=True),
    Column("object_type", String(40), primary_key=True),
    Column("modified", UtcDateTime(), nullable=False),
    Column("last_id", String(40), nullable=False),
    Column("extra", JSON),
    Column("run_id", Integer),
    Column("saved_at", UtcDateTime(), nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("crm", String(20), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("record_id", String(40), nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("decided_at", UtcMicros(), nullable=False),
    # The decision's category and review flag, counted by the overview without unpacking the decision.
    Column("lawful_use", String(40), nullable=False),
    Column("review_needed", Boolean, nullable=False),
    # Facts, decision and written values as ``packing`` keeps them (compressed JSON, the record id left out);
    # the policy id is the decision's own.
    Column("facts", Bytes, nullable=False),
    Column("decision", Bytes, nullable=False),
    # ``written``, ``unchanged``, ``planned`` (dry run), ``failed``, ``gone``, or ``pending``: kept before the
    # write is sent, then settled by its outcome or, after a crash, by the next run's read of the record.
    Column("write_status", String(20), nullable=False),
    # The field values written (the connector's own fields only), when any were; while pending, those sent.
    Column("written", Bytes),
    Column("error_code", String(60)),
    Index(None, "crm", "record_id"),
    Index(
        "ix_decisions_pending",
        "crm",
        "object_type",
        sqlite_where=text("write_status = 'pending'"),
        postgresql_where=text("write_status = 'pending'"),
    ),
)

record_states = Table(
    "record_states",
    metadata,
    Column("crm", String(20), primary_key=True),
    Column("record_id", String(40), primary_key=True),
    Column("object_type", String(40), nullable=False),
    # Hash of facts + decision + written values (16 hex digits): a new audit entry only when it changes.
    Column("fingerprint", String(32), nullable=False),
    Column("decision_id", Integer, nullable=False),
    # What the current flags rest on, so that an ordinary run decides again whatever has become due:
    # the decision's expiry, the policy id and mapping hash it was made under, the register versions its
    # numbers were screened against (null: no phone number), and the keyed hashes of those numbers.
    Column("valid_until", Date),
    # The policy id and mapping hash, as a reference to the pair in ``decided_under`` (a handful per store).
    Column("decided_under", Integer),
    Column("screened_with", String(200)),
    Column("phones", JSON),
    Index("ix_record_states_crm_valid_until", "crm", "valid_until"),
)

decided_under = Table(
    "decided_under",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(80)),
    Column("mapping_hash", String(16)),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("crm", String(20), nullable=False),
    Column("dedupe_key", String(120), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("record_id", String(40), nullable=False),
    # ``change``, ``delete`` or ``privacy_delete``.
    Column("kind", String(30), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    # ``pending``, ``done`` or ``dead``.
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("error_code", String(60)),
    # host:pid[:role] of the worker holding the claim; a dead owner's claims are released on start.
    Column("claimed_by", String(120)),
    UniqueConstraint("crm", "dedupe_key"),
    Index(None, "status", "next_attempt_at"),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("owner", String(80), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)
