"""alert delivery attempts: a failed alert email is retried

An alert used to be recorded as sent before its email was handed over, and a failed one was
never tried again. Each alert now counts its attempts and, while it has attempts left, when
the next one is due.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
