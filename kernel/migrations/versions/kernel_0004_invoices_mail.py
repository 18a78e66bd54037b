"""invoices, invoice numbering, mail outbox (issue 8)

Revision ID: kernel_0004
Revises: kernel_0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0004"
down_revision = "kernel_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_number_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=160), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizer.id"],
            name=op.f("fk_invoice_number_counter_organizer_id_organizer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_number_counter")),
        sa.UniqueConstraint("organizer_id", "prefix", name=op.f("uq_invoice_number_counter_organizer_id_prefix")),
    )
    op.create_table(
        "invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=160), nullable=False),
        sa.Column("invoice_no", sa.String(length=19), nullable=False),
        sa.Column("full_invoice_no", sa.String(length=190), nullable=False),
        sa.Column("is_cancellation", sa.Boolean(), nullable=False),
        sa.Column("refers_id", sa.Integer(), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("locale", sa.String(length=50), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invoice_from_name", sa.String(length=190), nullable=False),
        sa.Column("invoice_from", sa.Text(), nullable=False),
        sa.Column("invoice_from_zipcode", sa.String(length=190), nullable=False),
        sa.Column("invoice_from_city", sa.String(length=190), nullable=False),
        sa.Column("invoice_from_state", sa.String(length=190), nullable=False),
        sa.Column("invoice_from_country", sa.String(length=2), nullable=False),
        sa.Column("invoice_from_tax_id", sa.String(length=190), nullable=False),
        sa.Column("invoice_from_vat_id", sa.String(length=190), nullable=False),
        sa.Column("invoice_to", sa.Text(), nullable=False),
        sa.Column("invoice_to_is_business", sa.Boolean(), nullable=True),
        sa.Column("invoice_to_company", sa.Text(), nullable=False),
        sa.Column("invoice_to_name", sa.Text(), nullable=False),
        sa.Column("invoice_to_street", sa.Text(), nullable=False),
        sa.Column("invoice_to_zipcode", sa.String(length=190), nullable=False),
        sa.Column("invoice_to_city", sa.Text(), nullable=False),
        sa.Column("invoice_to_state", sa.String(length=190), nullable=True),
        sa.Column("invoice_to_country", sa.String(length=2), nullable=False),
        sa.Column("invoice_to_vat_id", sa.Text(), nullable=False),
        sa.Column("invoice_to_beneficiary", sa.Text(), nullable=False),
        sa.Column("invoice_to_transmission_info", sa.JSON(), nullable=False),
        sa.Column("custom_field", sa.String(length=255), nullable=True),
        sa.Column("internal_reference", sa.Text(), nullable=False),
        sa.Column("introductory_text", sa.Text(), nullable=False),
        sa.Column("additional_text", sa.Text(), nullable=False),
        sa.Column("payment_provider_text", sa.Text(), nullable=False),
        sa.Column("payment_provider_stamp", sa.String(length=100), nullable=True),
        sa.Column("footer_text", sa.Text(), nullable=False),
        sa.Column("foreign_currency_display", sa.String(length=50), nullable=True),
        sa.Column("foreign_currency_rate", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("foreign_currency_rate_date", sa.Date(), nullable=True),
        sa.Column("renderer", sa.String(length=190), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_content_type", sa.String(length=100), nullable=True),
        sa.Column("file_content", sa.LargeBinary(), nullable=True),
        sa.Column("transmission_type", sa.String(length=100), nullable=False),
        sa.Column("transmission_provider", sa.String(length=100), nullable=True),
        sa.Column("transmission_status", sa.String(length=20), nullable=False),
        sa.Column("transmission_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transmission_info", sa.JSON(), nullable=False),
        sa.Column("transmission_attempts", sa.Integer(), nullable=False),
        sa.Column("transmission_next_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transmission_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=op.f("fk_invoice_event_id_event"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=op.f("fk_invoice_order_id_order"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_invoice_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["refers_id"], ["invoice.id"], name=op.f("fk_invoice_refers_id_invoice"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
        sa.UniqueConstraint(
            "organizer_id", "prefix", "invoice_no", name=op.f("uq_invoice_organizer_id_prefix_invoice_no")
        ),
    )
    op.create_index(op.f("ix_invoice_event_id"), "invoice", ["event_id"], unique=False)
    op.create_index(op.f("ix_invoice_full_invoice_no"), "invoice", ["full_invoice_no"], unique=False)
    op.create_index(op.f("ix_invoice_order_id"), "invoice", ["order_id"], unique=False)
    op.create_index(op.f("ix_invoice_organizer_id"), "invoice", ["organizer_id"], unique=False)
    op.create_index(
        op.f("ix_invoice_transmission_next_attempt"), "invoice", ["transmission_next_attempt"], unique=False
    )
    op.create_index(op.f("ix_invoice_transmission_status"), "invoice", ["transmission_status"], unique=False)
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("reply_to", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_mail_outbox_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_mail_outbox_order_id_order"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["organizer.id"], name=op.f("fk_mail_outbox_organizer_id_organizer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index(op.f("ix_mail_outbox_event_id"), "mail_outbox", ["event_id"], unique=False)
    op.create_index(op.f("ix_mail_outbox_next_attempt"), "mail_outbox", ["next_attempt"], unique=False)
    op.create_index(op.f("ix_mail_outbox_status"), "mail_outbox", ["status"], unique=False)
    op.create_table(
        "invoice_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("variation_id", sa.Integer(), nullable=True),
        sa.Column("subevent_id", sa.Integer(), nullable=True),
        sa.Column("fee_type", sa.String(length=100), nullable=True),
        sa.Column("fee_internal_type", sa.String(length=255), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_location", sa.Text(), nullable=True),
        sa.Column("attendee_name", sa.Text(), nullable=True),
        sa.Column("gross_value", sa.Numeric(precision=13, scale=2), nullable=False),
        sa.Column("tax_value", sa.Numeric(precision=13, scale=2), nullable=False),
        sa.Column("tax_rate", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("tax_name", sa.String(length=190), nullable=False),
        sa.Column("tax_code", sa.String(length=190), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_invoice_line_invoice_id_invoice"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line")),
        sa.UniqueConstraint("invoice_id", "position", name=op.f("uq_invoice_line_invoice_id_position")),
    )
    op.create_index(op.f("ix_invoice_line_invoice_id"), "invoice_line", ["invoice_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invoice_line_invoice_id"), table_name="invoice_line")
    op.drop_table("invoice_line")
    op.drop_index(op.f("ix_mail_outbox_status"), table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_next_attempt"), table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_event_id"), table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index(op.f("ix_invoice_transmission_status"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_transmission_next_attempt"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_organizer_id"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_order_id"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_full_invoice_no"), table_name="invoice")
    op.drop_index(op.f("ix_invoice_event_id"), table_name="invoice")
    op.drop_table("invoice")
    op.drop_table("invoice_number_counter")
