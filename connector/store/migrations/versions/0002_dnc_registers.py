"""Do-not-call registers and the own suppression list: hash secret, list versions, current pointers, numbers.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dnc_secrets",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("secret", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "dnc_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("owner", sa.String(120)),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "dnc_current",
        sa.Column("list", sa.String(16), primary_key=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "dnc_numbers",
        sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("number_hash", sa.LargeBinary(16), primary_key=True),
        sa.Column("since", sa.Date),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in ("dnc_numbers", "dnc_current", "dnc_versions", "dnc_secrets"):
        op.drop_table(table)
