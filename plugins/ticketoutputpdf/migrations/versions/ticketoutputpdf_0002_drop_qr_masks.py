"""PDF ticket output: QR codes are encoded fast enough (zxing-cpp) that the masks chosen per ticket secret are no
longer stored.

Revision ID: ticketoutputpdf_0002
Revises: ticketoutputpdf_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ticketoutputpdf_0002"
down_revision = "ticketoutputpdf_0001"
branch_labels = None
depends_on = None

QR_MASK = "ticketoutputpdf_qr_mask"


def upgrade() -> None:
    op.drop_table(QR_MASK)


def downgrade() -> None:
    op.create_table(
        QR_MASK,
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("mask", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("secret", name=f"pk_{QR_MASK}"),
    )
