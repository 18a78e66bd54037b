"""PDF ticket output: layouts, their background PDFs, product assignments and stored QR masks.

Revision ID: ticketoutputpdf_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ticketoutputpdf_0001"
down_revision = None
branch_labels = ("ticketoutputpdf",)
depends_on = "kernel_0001"

LAYOUT = "ticketoutputpdf_layout"
BACKGROUND = "ticketoutputpdf_background"
ASSIGNMENT = "ticketoutputpdf_layout_item"
QR_MASK = "ticketoutputpdf_qr_mask"


def upgrade() -> None:
    op.create_table(
        LAYOUT,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("background_file", sa.String(length=64), nullable=True),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=f"fk_{LAYOUT}_event_id_event", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{LAYOUT}"),
    )
    op.create_index(f"ix_{LAYOUT}_event_id", LAYOUT, ["event_id"])
    op.create_table(
        BACKGROUND,
        sa.Column("layout_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["layout_id"], [f"{LAYOUT}.id"], name=f"fk_{BACKGROUND}_layout_id_{LAYOUT}", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("layout_id", name=f"pk_{BACKGROUND}"),
    )
    op.create_table(
        ASSIGNMENT,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layout_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sales_channel", sa.String(length=190), nullable=False),
        sa.ForeignKeyConstraint(
            ["layout_id"], [f"{LAYOUT}.id"], name=f"fk_{ASSIGNMENT}_layout_id_{LAYOUT}", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=f"fk_{ASSIGNMENT}_item_id_item", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{ASSIGNMENT}"),
        sa.UniqueConstraint("item_id", "sales_channel", name=f"uq_{ASSIGNMENT}_item_id_sales_channel"),
    )
    op.create_index(f"ix_{ASSIGNMENT}_layout_id", ASSIGNMENT, ["layout_id"])
    op.create_index(f"ix_{ASSIGNMENT}_item_id", ASSIGNMENT, ["item_id"])
    op.create_table(
        QR_MASK,
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("mask", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("secret", name=f"pk_{QR_MASK}"),
    )


def downgrade() -> None:
    op.drop_table(QR_MASK)
    op.drop_index(f"ix_{ASSIGNMENT}_item_id", table_name=ASSIGNMENT)
    op.drop_index(f"ix_{ASSIGNMENT}_layout_id", table_name=ASSIGNMENT)
    op.drop_table(ASSIGNMENT)
    op.drop_table(BACKGROUND)
    op.drop_index(f"ix_{LAYOUT}_event_id", table_name=LAYOUT)
    op.drop_table(LAYOUT)
