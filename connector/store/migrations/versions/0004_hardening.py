"""The do-not-call key's fingerprint (the key itself moves out of the store); who claimed each webhook event.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dnc_keys",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(120)))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("claimed_by")
    op.drop_table("dnc_keys")
