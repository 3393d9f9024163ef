"""Pending audit entries: an index over the writes sent but not yet settled, which each run reads back first.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PENDING = sa.text("write_status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_decisions_pending",
        "decisions",
        ["crm", "object_type"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_decisions_pending", table_name="decisions")
