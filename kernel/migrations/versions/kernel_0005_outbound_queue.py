"""outbound queue (issue 10) — reserved: filled in by the work on that issue

Revision ID: kernel_0005
Revises: kernel_0004
Create Date: 2026-12-01
"""

revision = "kernel_0005"
down_revision = "kernel_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
