"""exports and shredding (issue 9) — reserved: filled in by the work on that issue

Revision ID: kernel_0006
Revises: kernel_0005
Create Date: 2026-12-01
"""

revision = "kernel_0006"
down_revision = "kernel_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
