"""A compact audit: facts, decision and written values kept as ``packing`` compresses them, the decision time as
microseconds, the category and review flag in columns of their own, no policy id column (the decision holds it),
no index on the decision time; record states keep 16-digit fingerprints and their policy id and mapping hash as
a reference to the pair in ``decided_under``. Every entry is converted, none lost. A downgrade
restores the entries; the shortened fingerprints then differ from the longer ones that revision computes, so each
record gets one more (identical) entry on its next run.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from connector.store.packing import pack, unpack

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PENDING = sa.text("write_status = 'pending'")
_CHUNK = 5_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEY = ("id", "crm", "object_type", "record_id", "run_id", "write_status", "error_code")


def _micros_of(value: datetime) -> int:
    """An aware datetime as microseconds since the epoch (what ``tables.UtcMicros`` keeps)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _moment(micros: int) -> datetime:
    """The naive UTC datetime the revision before kept (SQLite keeps no zone; PostgreSQL's column has none)."""
    seconds, rest = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest, tzinfo=None)


def _set_aside(suffix: str) -> None:
    """Rename the decisions table out of the way; on PostgreSQL its key and id sequence too, whose names
    the new table takes."""
    op.rename_table("decisions", f"decisions_{suffix}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE decisions_{suffix} RENAME CONSTRAINT pk_decisions TO pk_decisions_{suffix}")
        op.execute(f"ALTER SEQUENCE decisions_id_seq RENAME TO decisions_{suffix}_id_seq")


def _index(table: str) -> None:
    op.create_index("ix_decisions_crm_record_id", table, ["crm", "record_id"])
    op.create_index(
        "ix_decisions_pending", table, ["crm", "object_type"], sqlite_where=PENDING, postgresql_where=PENDING
    )


def _rows(source: sa.TableClause) -> Iterator[list[Any]]:
    """The source's rows in id order, a chunk at a time (flat memory at any size)."""
    bind = op.get_bind()
    last = 0
    while True:
        query = sa.select(source).where(source.c.id > last).order_by(source.c.id).limit(_CHUNK)
        chunk = list(bind.execute(query))
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id


def _copy(source: sa.TableClause, target: sa.TableClause, convert: Callable[[Any], dict[str, Any]]) -> None:
    bind = op.get_bind()
    for chunk in _rows(source):
        bind.execute(sa.insert(target), [convert(row) for row in chunk])
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('decisions', 'id'), coalesce(max(id), 0) + 1, "
                             "false) FROM decisions"))  # fmt: skip


def _key_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("crm", sa.String(20), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
    ]


def _old_table(name: str) -> sa.TableClause:
    return sa.table(
        name,
        *(sa.column(key) for key in _KEY),
        sa.column("decided_at", sa.DateTime),
        sa.column("policy_id", sa.String),
        sa.column("facts", sa.JSON),
        sa.column("decision", sa.JSON),
        sa.column("written", sa.JSON),
    )


def _new_table(name: str) -> sa.TableClause:
    return sa.table(
        name,
        *(sa.column(key) for key in _KEY),
        sa.column("decided_at", sa.BigInteger),
        sa.column("lawful_use", sa.String),
        sa.column("review_needed", sa.Boolean),
        sa.column("facts", sa.LargeBinary),
        sa.column("decision", sa.LargeBinary),
        sa.column("written", sa.LargeBinary),
    )


def _compact(row: Any) -> dict[str, Any]:
    decision = row.decision
    return {
        **{key: getattr(row, key) for key in _KEY},
        "decided_at": _micros_of(row.decided_at.replace(tzinfo=UTC)),
        "lawful_use": decision["lawful_use"],
        "review_needed": bool(decision["review_needed"]),
        "facts": pack(row.facts, row.record_id),
        "decision": pack(decision, row.record_id),
        "written": pack(row.written) if row.written is not None else None,
    }


def _expanded(row: Any) -> dict[str, Any]:
    decision = unpack(row.decision, row.record_id)
    return {
        **{key: getattr(row, key) for key in _KEY},
        "decided_at": _moment(row.decided_at),
        "policy_id": decision["policy"],
        "facts": unpack(row.facts, row.record_id),
        "decision": decision,
        "written": unpack(row.written) if row.written is not None else None,
    }


def upgrade() -> None:
    for name in ("ix_decisions_pending", "ix_decisions_decided_at", "ix_decisions_crm_record_id"):
        op.drop_index(name, table_name="decisions")
    _set_aside("0006")
    op.create_table(
        "decisions",
        *_key_columns(),
        sa.Column("decided_at", sa.BigInteger, nullable=False),
        sa.Column("lawful_use", sa.String(40), nullable=False),
        sa.Column("review_needed", sa.Boolean, nullable=False),
        sa.Column("facts", sa.LargeBinary, nullable=False),
        sa.Column("decision", sa.LargeBinary, nullable=False),
        sa.Column("write_status", sa.String(20), nullable=False),
        sa.Column("written", sa.LargeBinary),
        sa.Column("error_code", sa.String(60)),
    )
    _copy(_old_table("decisions_0006"), _new_table("decisions"), _compact)
    op.drop_table("decisions_0006")
    _index("decisions")
    op.execute("UPDATE record_states SET fingerprint = substr(fingerprint, 1, 16)")
    _states_refer()


def _states_refer() -> None:
    """record_states: the policy id and mapping hash become a reference to their pair in ``decided_under``."""
    op.create_table(
        "decided_under",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("policy_id", sa.String(80)),
        sa.Column("mapping_hash", sa.String(16)),
    )
    with op.batch_alter_table("record_states") as batch:
        batch.add_column(sa.Column("decided_under", sa.Integer))
    states, under = _states(), _under()
    pairs = sa.select(states.c.policy_id, states.c.mapping_hash).distinct()
    pairs = pairs.where(sa.or_(states.c.policy_id.is_not(None), states.c.mapping_hash.is_not(None)))
    op.execute(sa.insert(under).from_select(["policy_id", "mapping_hash"], pairs))
    op.execute(sa.update(states).values(decided_under=_pair_id(states, under)))
    with op.batch_alter_table("record_states") as batch:
        batch.drop_column("mapping_hash")
        batch.drop_column("policy_id")


def _states() -> sa.TableClause:
    return sa.table(
        "record_states",
        sa.column("policy_id", sa.String),
        sa.column("mapping_hash", sa.String),
        sa.column("decided_under", sa.Integer),
    )


def _under() -> sa.TableClause:
    return sa.table(
        "decided_under", sa.column("id", sa.Integer), sa.column("policy_id"), sa.column("mapping_hash")
    )


def _pair_id(states: sa.TableClause, under: sa.TableClause) -> Any:
    return (
        sa.select(sa.func.min(under.c.id))
        .where(
            under.c.policy_id.is_not_distinct_from(states.c.policy_id),
            under.c.mapping_hash.is_not_distinct_from(states.c.mapping_hash),
        )
        .scalar_subquery()
    )


def _states_hold() -> None:
    """The revision before: record_states keep the policy id and mapping hash themselves."""
    with op.batch_alter_table("record_states") as batch:
        batch.add_column(sa.Column("policy_id", sa.String(80)))
        batch.add_column(sa.Column("mapping_hash", sa.String(16)))
    states, under = _states(), _under()
    chosen = under.c.id == states.c.decided_under
    op.execute(
        sa.update(states).values(
            policy_id=sa.select(under.c.policy_id).where(chosen).scalar_subquery(),
            mapping_hash=sa.select(under.c.mapping_hash).where(chosen).scalar_subquery(),
        )
    )
    with op.batch_alter_table("record_states") as batch:
        batch.drop_column("decided_under")
    op.drop_table("decided_under")


def downgrade() -> None:
    _states_hold()
    for name in ("ix_decisions_pending", "ix_decisions_crm_record_id"):
        op.drop_index(name, table_name="decisions")
    _set_aside("0007")
    op.create_table(
        "decisions",
        *_key_columns(),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.Column("policy_id", sa.String(80), nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("write_status", sa.String(20), nullable=False),
        sa.Column("written", sa.JSON),
        sa.Column("error_code", sa.String(60)),
    )
    _copy(_new_table("decisions_0007"), _old_table("decisions"), _expanded)
    op.drop_table("decisions_0007")
    _index("decisions")
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
