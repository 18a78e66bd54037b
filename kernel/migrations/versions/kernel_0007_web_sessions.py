"""web sessions and control panel (issue 12) — reserved: filled in by the work on that issue

Revision ID: kernel_0007
Revises: kernel_0006
Create Date: 2026-12-01
"""

revision = "kernel_0007"
down_revision = "kernel_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
