"""Runs, cursors, the decision audit, record fingerprints, the webhook event queue and locks.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("crm", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("policy_id", sa.String(80), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )
    op.create_table(
        "cursors",
        sa.Column("crm", sa.String(20), primary_key=True),
        sa.Column("object_type", sa.String(40), primary_key=True),
        sa.Column("modified", UtcDateTime(), nullable=False),
        sa.Column("last_id", sa.String(40), nullable=False),
        sa.Column("extra", sa.JSON),
        sa.Column("run_id", sa.Integer),
        sa.Column("saved_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("crm", sa.String(20), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.Column("policy_id", sa.String(80), nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("write_status", sa.String(20), nullable=False),
        sa.Column("written", sa.JSON),
        sa.Column("error_code", sa.String(60)),
    )
    op.create_index("ix_decisions_crm_record_id", "decisions", ["crm", "record_id"])
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
    op.create_table(
        "record_states",
        sa.Column("crm", sa.String(20), primary_key=True),
        sa.Column("record_id", sa.String(40), primary_key=True),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("crm", sa.String(20), nullable=False),
        sa.Column("dedupe_key", sa.String(120), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("error_code", sa.String(60)),
        sa.UniqueConstraint("crm", "dedupe_key", name="uq_events_crm_dedupe_key"),
    )
    op.create_index("ix_events_status_next_attempt_at", "events", ["status", "next_attempt_at"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("locks", "events", "record_states", "decisions", "cursors", "runs"):
        op.drop_table(table)
