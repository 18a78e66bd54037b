"""Webhooks: endpoints per organizer and their call log.

Its own Alembic branch labelled ``webhooks``; depends on the kernel revision that holds the outbound queue.

Revision ID: webhooks_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "webhooks_0001"
down_revision = None
branch_labels = ("webhooks",)
depends_on = "kernel_0005"


def upgrade() -> None:
    op.create_table(
        "webhooks_webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("target_url", sa.String(255), nullable=False),
        sa.Column("all_events", sa.Boolean(), nullable=False),
        sa.Column("limit_events", sa.JSON(), nullable=False),
        sa.Column("action_types", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name="fk_webhooks_webhook_organizer_id_organizer", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks_webhook"),
    )
    op.create_index("ix_webhooks_webhook_organizer_id", "webhooks_webhook", ["organizer_id"])
    op.create_table(
        "webhooks_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target_url", sa.String(255), nullable=False),
        sa.Column("action_type", sa.String(255), nullable=False),
        sa.Column("is_retry", sa.Boolean(), nullable=False),
        sa.Column("execution_time", sa.Float(), nullable=True),
        sa.Column("return_code", sa.Integer(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks_webhook.id"],
            name="fk_webhooks_call_webhook_id_webhooks_webhook",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks_call"),
    )
    op.create_index("ix_webhooks_call_webhook_id", "webhooks_call", ["webhook_id"])
    op.create_index("ix_webhooks_call_datetime", "webhooks_call", ["datetime"])


def downgrade() -> None:
    op.drop_table("webhooks_call")
    op.drop_table("webhooks_webhook")
