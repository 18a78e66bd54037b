"""invoices, invoice numbering, mail outbox (issue 8)

Revision ID: kernel_0004
Revises: kernel_0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "kernel_0004"
down_revision = "kernel_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
