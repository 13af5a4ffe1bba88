"""issue fingerprints unique per project, not across projects

An SDK chooses its own fingerprint, so a client holding one project's (public) DSN could
send a fingerprint whose key is another project's issue key and land its events there.
The issue keys stay as they are (stored issues keep grouping their events the same way);
only the unique constraint now includes the project, and the lookups with it.

Downgrading fails if two projects by then hold an issue with the same key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:30:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PER_PROJECT = "uq_issues_project_id_fingerprint"
# 0001 left the constraint unnamed: PostgreSQL named it itself; on SQLite, where the table is
# rebuilt, the naming convention below names the reflected constraint.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _global_name() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "issues_fingerprint_key"
    return "uq_issues_fingerprint"


def upgrade() -> None:
    with op.batch_alter_table("issues", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint(_global_name(), type_="unique")
        batch_op.create_unique_constraint(PER_PROJECT, ["project_id", "fingerprint"])


def downgrade() -> None:
    with op.batch_alter_table("issues", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint(PER_PROJECT, type_="unique")
        batch_op.create_unique_constraint(_global_name(), ["fingerprint"])
