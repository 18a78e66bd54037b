"""check-in lists, check-ins (issue 7)

Revision ID: kernel_0003
Revises: kernel_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0003"
down_revision = "kernel_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkin_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("all_products", sa.Boolean(), nullable=False),
        sa.Column("subevent_id", sa.Integer(), nullable=True),
        sa.Column("include_pending", sa.Boolean(), nullable=False),
        sa.Column("allow_multiple_entries", sa.Boolean(), nullable=False),
        sa.Column("allow_entry_after_exit", sa.Boolean(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("exit_all_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("addon_match", sa.Boolean(), nullable=False),
        sa.Column("ignore_in_statistics", sa.Boolean(), nullable=False),
        sa.Column("consider_tickets_used", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_checkin_list_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subevent_id"], ["subevent.id"], name=op.f("fk_checkin_list_subevent_id_subevent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_list")),
    )
    with op.batch_alter_table("checkin_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_list_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_list_subevent_id"), ["subevent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_list_exit_all_at"), ["exit_all_at"], unique=False)

    op.create_table(
        "checkin_list_items",
        sa.Column("checkin_list_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_list_id"],
            ["checkin_list.id"],
            name=op.f("fk_checkin_list_items_checkin_list_id_checkin_list"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_checkin_list_items_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("checkin_list_id", "item_id", name=op.f("pk_checkin_list_items")),
    )

    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("successful", sa.Boolean(), nullable=False),
        sa.Column("error_reason", sa.String(length=100), nullable=True),
        sa.Column("error_explanation", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("auto_checked_in", sa.Boolean(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("nonce", sa.String(length=190), nullable=True),
        sa.Column("raw_barcode", sa.Text(), nullable=True),
        sa.Column("raw_source_type", sa.String(length=50), nullable=True),
        sa.Column("raw_item_id", sa.Integer(), nullable=True),
        sa.Column("raw_variation_id", sa.Integer(), nullable=True),
        sa.Column("raw_subevent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_checkin_device_id_device"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["checkin_list.id"], name=op.f("fk_checkin_list_id_checkin_list"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["order_position.id"],
            name=op.f("fk_checkin_position_id_order_position"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_position_list", ["position_id", "list_id", "datetime"], unique=False)
        batch_op.create_index("ix_checkin_list_created", ["list_id", "created"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_created"), ["created"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_nonce"), ["nonce"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_nonce"))
        batch_op.drop_index(batch_op.f("ix_checkin_created"))
        batch_op.drop_index("ix_checkin_list_created")
        batch_op.drop_index("ix_checkin_position_list")
    op.drop_table("checkin")
    op.drop_table("checkin_list_items")
    with op.batch_alter_table("checkin_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_list_exit_all_at"))
        batch_op.drop_index(batch_op.f("ix_checkin_list_subevent_id"))
        batch_op.drop_index(batch_op.f("ix_checkin_list_event_id"))
    op.drop_table("checkin_list")
