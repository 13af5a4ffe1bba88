"""job progress and idempotency keys, sent emails, schedule fires

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from loom_common.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_done", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("progress_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("arguments_digest", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_jobs_idempotency_key", ["idempotency_key"])
    op.create_table(
        "sent_emails",
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_sent_emails_job_id", "sent_emails", ["job_id"], unique=False)
    op.create_table(
        "schedule_fires",
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("fire_time", UTCDateTime(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("schedule", "fire_time"),
    )


def downgrade() -> None:
    op.drop_table("schedule_fires")
    op.drop_index("ix_sent_emails_job_id", table_name="sent_emails")
    op.drop_table("sent_emails")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_jobs_idempotency_key", type_="unique")
        batch_op.drop_column("arguments_digest")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("progress_total")
        batch_op.drop_column("progress_done")
