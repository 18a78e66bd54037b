"""Offline sales: batches and their orders.

Its own Alembic branch labelled ``offlinesales``; needs the kernel's orders. ``layout_id`` names a layout of the
PDF plugin without a foreign key (the plugins' branches migrate independently).

Revision ID: offlinesales_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "offlinesales_0001"
down_revision = None
branch_labels = ("offlinesales",)
depends_on = "kernel_0002"

BATCH = "offlinesales_batch"
BATCH_ORDER = "offlinesales_batch_order"


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        BATCH,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("creation", sa.DateTime(timezone=True), nullable=False),
        sa.Column("testmode", sa.Boolean(), nullable=False),
        sa.Column("sales_channel", sa.String(190), nullable=False),
        sa.Column("layout_id", sa.Integer(), nullable=True),
        sa.Column("subevent_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("variation_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("actor_type", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=True),
        _fk(BATCH, "event_id", "event", "CASCADE"),
        _fk(BATCH, "subevent_id", "subevent", "CASCADE"),
        _fk(BATCH, "item_id", "item", "CASCADE"),
        _fk(BATCH, "variation_id", "item_variation", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{BATCH}"),
    )
    op.create_index(f"ix_{BATCH}_event_id", BATCH, ["event_id"])
    op.create_table(
        BATCH_ORDER,
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        _fk(BATCH_ORDER, "order_id", "order", "CASCADE"),
        _fk(BATCH_ORDER, "batch_id", BATCH, "CASCADE"),
        sa.PrimaryKeyConstraint("order_id", name=f"pk_{BATCH_ORDER}"),
    )
    op.create_index(f"ix_{BATCH_ORDER}_batch_id", BATCH_ORDER, ["batch_id"])


def downgrade() -> None:
    op.drop_table(BATCH_ORDER)
    op.drop_table(BATCH)
