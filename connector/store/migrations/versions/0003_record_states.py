"""What each record's flags rest on: expiry, policy id, mapping hash, register versions, hashed numbers; runs
record their mapping hash and the date they decided as of.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("record_states") as batch:
        batch.add_column(sa.Column("valid_until", sa.Date))
        batch.add_column(sa.Column("policy_id", sa.String(80)))
        batch.add_column(sa.Column("mapping_hash", sa.String(16)))
        batch.add_column(sa.Column("screened_with", sa.String(200)))
        batch.add_column(sa.Column("phones", sa.JSON))
    op.create_index("ix_record_states_crm_valid_until", "record_states", ["crm", "valid_until"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("mapping_hash", sa.String(16)))
        batch.add_column(sa.Column("as_of", sa.Date))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("as_of")
        batch.drop_column("mapping_hash")
    op.drop_index("ix_record_states_crm_valid_until", "record_states")
    with op.batch_alter_table("record_states") as batch:
        for name in ("phones", "screened_with", "mapping_hash", "policy_id", "valid_until"):
            batch.drop_column(name)
