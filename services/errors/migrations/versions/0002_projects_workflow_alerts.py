"""projects, keys, issue workflow, users, facet and minute counts, rate buckets, alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:30:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    projects = op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alert_recipients", sa.Text(), server_default="[]", nullable=False),
        sa.Column("alert_event_threshold", sa.Integer(), nullable=True),
        sa.Column("alert_threshold_minutes", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    # The default project exists before issues point at it: every older issue is Loom's own.
    op.bulk_insert(
        projects,
        [{"id": 1, "name": "loom", "created_at": datetime.now(UTC), "alert_recipients": "[]"}],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval('projects_id_seq', (SELECT max(id) FROM projects))")

    op.create_table(
        "project_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_key"),
    )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("project_id", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column("user_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_in_release", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("regressed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("last_alerted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key("fk_issues_project_id", "projects", ["project_id"], ["id"])
        # "resolved_in_next_release" does not fit in 16.
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=32)
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_received_at", ["received_at"], unique=False)

    op.create_table(
        "issue_users",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("issue_id", "user_key"),
    )
    op.create_table(
        "issue_facets",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("release", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("issue_id", "environment", "release", "service", "level"),
    )
    # Issues stored before facets existed: all their events under their latest attributes.
    op.execute(
        "INSERT INTO issue_facets (issue_id, environment, release, service, level, count,"
        " first_seen, last_seen) SELECT id, COALESCE(environment, ''), COALESCE(release, ''),"
        " COALESCE(service, ''), level, count, first_seen, last_seen FROM issues"
    )
    op.create_table(
        "issue_minutes",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("issue_id", "minute"),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_project_id_created_at", ["project_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_project_id_created_at")
    op.drop_table("alerts")
    op.drop_table("rate_buckets")
    op.drop_table("issue_minutes")
    op.drop_table("issue_facets")
    op.drop_table("issue_users")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_received_at")
    op.execute("UPDATE issues SET status = 'resolved' WHERE status = 'resolved_in_next_release'")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(length=32), type_=sa.String(length=16)
        )
        batch_op.drop_constraint("fk_issues_project_id", type_="foreignkey")
        batch_op.drop_column("last_alerted_at")
        batch_op.drop_column("regressed_at")
        batch_op.drop_column("resolved_in_release")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("user_count")
        batch_op.drop_column("project_id")
    op.drop_table("project_keys")
    op.drop_table("projects")
