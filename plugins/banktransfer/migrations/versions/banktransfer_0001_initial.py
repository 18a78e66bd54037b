"""Bank transfer: import jobs, bank transactions, bookings, refund exports.

Its own Alembic branch labelled ``banktransfer``; depends on the kernel revision that holds orders and refunds.

Revision ID: banktransfer_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "banktransfer_0001"
down_revision = None
branch_labels = ("banktransfer",)
depends_on = "kernel_0002"

JOB = "banktransfer_import_job"
TRANSACTION = "banktransfer_transaction"
BOOKING = "banktransfer_booking"
EXPORT = "banktransfer_refund_export"
EXPORTED = "banktransfer_exported_refund"


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        JOB,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor_type", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        _fk(JOB, "organizer_id", "organizer", "CASCADE"),
        _fk(JOB, "event_id", "event", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{JOB}"),
    )
    for column in ("organizer_id", "event_id", "state"):
        op.create_index(f"ix_{JOB}_{column}", JOB, [column])

    op.create_table(
        TRANSACTION,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("payer", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(13, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("iban", sa.String(64), nullable=False),
        sa.Column("bic", sa.String(64), nullable=False),
        sa.Column("date", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(190), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("order_code", sa.String(16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        _fk(TRANSACTION, "job_id", JOB, "CASCADE"),
        _fk(TRANSACTION, "organizer_id", "organizer", "CASCADE"),
        _fk(TRANSACTION, "order_id", "order", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TRANSACTION}"),
    )
    for column in ("job_id", "organizer_id", "state", "checksum", "external_id", "order_id"):
        op.create_index(f"ix_{TRANSACTION}_{column}", TRANSACTION, [column])

    op.create_table(
        BOOKING,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        _fk(BOOKING, "organizer_id", "organizer", "CASCADE"),
        _fk(BOOKING, "transaction_id", TRANSACTION, "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{BOOKING}"),
        sa.UniqueConstraint("organizer_id", "key", name=f"uq_{BOOKING}_organizer_id_key"),
    )
    for column in ("organizer_id", "transaction_id"):
        op.create_index(f"ix_{BOOKING}_{column}", BOOKING, [column])

    op.create_table(
        EXPORT,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.Numeric(13, 2), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        _fk(EXPORT, "organizer_id", "organizer", "CASCADE"),
        _fk(EXPORT, "event_id", "event", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{EXPORT}"),
    )
    for column in ("organizer_id", "event_id"):
        op.create_index(f"ix_{EXPORT}_{column}", EXPORT, [column])

    op.create_table(
        EXPORTED,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"], [f"{EXPORT}.id"], name="fk_banktransfer_exported_refund_export", ondelete="CASCADE"
        ),
        _fk(EXPORTED, "refund_id", "order_refund", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{EXPORTED}"),
        sa.UniqueConstraint("refund_id", name=f"uq_{EXPORTED}_refund_id"),
    )
    op.create_index(f"ix_{EXPORTED}_export_id", EXPORTED, ["export_id"])


def downgrade() -> None:
    op.drop_table(EXPORTED)
    op.drop_table(EXPORT)
    op.drop_table(BOOKING)
    op.drop_table(TRANSACTION)
    op.drop_table(JOB)
