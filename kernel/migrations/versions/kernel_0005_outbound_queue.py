"""outbound queue (issue 10): the outbox of webhook calls and data sync runs, sync mappings and sync results

Revision ID: kernel_0005
Revises: kernel_0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0005"
down_revision = "kernel_0004"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "outbound_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=190), nullable=False),
        sa.Column("object_key", sa.String(length=190), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_mode", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        _fk("outbound_entry", "organizer_id", "organizer", "CASCADE"),
        _fk("outbound_entry", "event_id", "event", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_entry")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_entry_idempotency_key")),
    )
    op.create_index("ix_outbound_entry_due", "outbound_entry", ["status", "next_attempt"])
    op.create_index("ix_outbound_entry_stream", "outbound_entry", ["channel", "target", "object_key", "id"])
    op.create_index(op.f("ix_outbound_entry_organizer_id"), "outbound_entry", ["organizer_id"])
    op.create_index(op.f("ix_outbound_entry_event_id"), "outbound_entry", ["event_id"])

    op.create_table(
        "sync_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source_model", sa.String(length=32), nullable=False),
        sa.Column("external_object_type", sa.String(length=128), nullable=False),
        sa.Column("source_id_field", sa.String(length=190), nullable=False),
        sa.Column("external_id_field", sa.String(length=190), nullable=False),
        sa.Column("property_mappings", sa.JSON(), nullable=False),
        _fk("sync_mapping", "event_id", "event", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_mapping")),
    )
    op.create_index(op.f("ix_sync_mapping_event_id"), "sync_mapping", ["event_id"])

    op.create_table(
        "sync_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("mapping_key", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=128), nullable=False),
        sa.Column("external_id_field", sa.String(length=190), nullable=False),
        sa.Column("id_value", sa.Text(), nullable=False),
        sa.Column("external_link_href", sa.Text(), nullable=True),
        sa.Column("external_link_display_name", sa.Text(), nullable=True),
        sa.Column("sync_info", sa.JSON(), nullable=False),
        sa.Column("transmitted", sa.DateTime(timezone=True), nullable=False),
        _fk("sync_result", "event_id", "event", "CASCADE"),
        _fk("sync_result", "order_id", "order", "CASCADE"),
        _fk("sync_result", "position_id", "order_position", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_result")),
    )
    op.create_index(op.f("ix_sync_result_event_id"), "sync_result", ["event_id"])
    op.create_index("ix_sync_result_object", "sync_result", ["order_id", "provider", "mapping_key", "position_id"])


def downgrade() -> None:
    op.drop_table("sync_result")
    op.drop_table("sync_mapping")
    op.drop_table("outbound_entry")
