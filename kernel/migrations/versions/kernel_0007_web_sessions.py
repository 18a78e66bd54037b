"""web sessions and control panel (issue 12)

Revision ID: kernel_0007
Revises: kernel_0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0007"
down_revision = "kernel_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_web_session")),
    )
    op.create_index(op.f("ix_web_session_expires"), "web_session", ["expires"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_session_expires"), table_name="web_session")
    op.drop_table("web_session")
