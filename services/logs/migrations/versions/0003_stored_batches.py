"""stored batches: each batch of the logs queue stored once

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_batches",
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_stored_batches_stored_at", "stored_batches", ["stored_at"])


def downgrade() -> None:
    op.drop_index("ix_stored_batches_stored_at", table_name="stored_batches")
    op.drop_table("stored_batches")
