"""check-in gates (issue 7) — reserved: filled in by the work on that issue

Revision ID: kernel_0008
Revises: kernel_0007
Create Date: 2026-12-01
"""

revision = "kernel_0008"
down_revision = "kernel_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
