"""Invoices: the issued documents, their lines, the gap-free number counters and the transmission state.

An invoice copies everything it shows (sender, recipient, lines, texts) at the moment it is issued, so later changes
of the order, the catalog or the settings never alter a document that was handed out. After the first flush only the
rendered file and the transmission columns may change; :func:`refuse_content_changes` enforces that for every
writer, not only the invoicing service.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event

if TYPE_CHECKING:
    from boxoffice.kernel.models.orders import Order


class InvoiceNumberCounter(Base):
    """The last number handed out for one prefix of one organizer.

    Events sharing a prefix share the counter, which is how an organizer gets one number range for all its events.
    The row is incremented inside the transaction that issues the invoice, so its lock orders concurrent issuers and
    a rolled-back invoice gives its number back: no gaps, no duplicates.
    """

    __tablename__ = "invoice_number_counter"
    __table_args__ = (UniqueConstraint("organizer_id", "prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(160))
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("organizer_id", "prefix", "invoice_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(160))
    invoice_no: Mapped[str] = mapped_column(String(19))
    # Prefix and number together: what the API calls ``number`` and what the document shows.
    full_invoice_no: Mapped[str] = mapped_column(String(190), index=True)
    is_cancellation: Mapped[bool] = mapped_column(Boolean, default=False)
    refers_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"), nullable=True)
    date: Mapped[date] = mapped_column(Date)
    locale: Mapped[str] = mapped_column(String(50), default="en")
    currency: Mapped[str] = mapped_column(String(10))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    invoice_from_name: Mapped[str] = mapped_column(String(190), default="")
    invoice_from: Mapped[str] = mapped_column(Text, default="")
    invoice_from_zipcode: Mapped[str] = mapped_column(String(190), default="")
    invoice_from_city: Mapped[str] = mapped_column(String(190), default="")
    invoice_from_state: Mapped[str] = mapped_column(String(190), default="")
    invoice_from_country: Mapped[str] = mapped_column(String(2), default="")
    invoice_from_tax_id: Mapped[str] = mapped_column(String(190), default="")
    invoice_from_vat_id: Mapped[str] = mapped_column(String(190), default="")

    invoice_to: Mapped[str] = mapped_column(Text, default="")
    invoice_to_is_business: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    invoice_to_company: Mapped[str] = mapped_column(Text, default="")
    invoice_to_name: Mapped[str] = mapped_column(Text, default="")
    invoice_to_street: Mapped[str] = mapped_column(Text, default="")
    invoice_to_zipcode: Mapped[str] = mapped_column(String(190), default="")
    invoice_to_city: Mapped[str] = mapped_column(Text, default="")
    invoice_to_state: Mapped[str | None] = mapped_column(String(190), nullable=True)
    invoice_to_country: Mapped[str] = mapped_column(String(2), default="")
    invoice_to_vat_id: Mapped[str] = mapped_column(Text, default="")
    invoice_to_beneficiary: Mapped[str] = mapped_column(Text, default="")
    invoice_to_transmission_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    custom_field: Mapped[str | None] = mapped_column(String(255), nullable=True)
    internal_reference: Mapped[str] = mapped_column(Text, default="")

    introductory_text: Mapped[str] = mapped_column(Text, default="")
    additional_text: Mapped[str] = mapped_column(Text, default="")
    payment_provider_text: Mapped[str] = mapped_column(Text, default="")
    payment_provider_stamp: Mapped[str | None] = mapped_column(String(100), nullable=True)
    footer_text: Mapped[str] = mapped_column(Text, default="")
    foreign_currency_display: Mapped[str | None] = mapped_column(String(50), nullable=True)
    foreign_currency_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 4), nullable=True)
    foreign_currency_rate_date: Mapped[date | None] = mapped_column(Date, nullable=True)

    # The rendered document; rendering happens after issuing (in a job), so these start empty.
    renderer: Mapped[str | None] = mapped_column(String(190), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    file_content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    file_content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)

    transmission_type: Mapped[str] = mapped_column(String(100), default="email")
    transmission_provider: Mapped[str | None] = mapped_column(String(100), nullable=True)
    transmission_status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    transmission_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the provider keeps about its delivery (message ids, recipient …), shown to organizers.
    transmission_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    transmission_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a failed transmission is tried again; None once it succeeded or was given up.
    transmission_next_attempt: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    transmission_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    event: Mapped[Event] = relationship()
    order: Mapped[Order] = relationship()
    refers: Mapped[Invoice | None] = relationship(remote_side=[id])
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", passive_deletes=True
    )

    @property
    def number(self) -> str:
        return self.full_invoice_no

    @property
    def total(self) -> Decimal:
        return sum((line.gross_value for line in self.lines), Decimal("0.00"))

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax_value for line in self.lines), Decimal("0.00"))


class InvoiceLine(Base):
    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    # Where the line came from; plain ids (no foreign keys), since a document outlives the catalog entries it names.
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    variation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subevent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fee_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    fee_internal_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    event_location: Mapped[str | None] = mapped_column(Text, nullable=True)
    attendee_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    gross_value: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    tax_value: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0.00"))
    tax_name: Mapped[str] = mapped_column(String(190), default="")
    tax_code: Mapped[str | None] = mapped_column(String(190), nullable=True)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    @property
    def net_value(self) -> Decimal:
        return self.gross_value - self.tax_value


class InvoiceImmutable(RuntimeError):
    """Something tried to change the content of an issued invoice; corrections are a cancellation plus a new one."""


# Columns of an issued invoice that may still change: its rendered file and the state of its delivery.
MUTABLE_INVOICE_COLUMNS = frozenset(
    {
        "renderer",
        "file_name",
        "file_content_type",
        "file_content",
        "transmission_type",
        "transmission_provider",
        "transmission_status",
        "transmission_date",
        "transmission_info",
        "transmission_attempts",
        "transmission_next_attempt",
        "transmission_error",
        # The invoice it cancels may be deleted with a test-mode order; the database then clears the reference.
        "refers_id",
    }
)


@event.listens_for(Invoice, "before_update")
def refuse_content_changes(_mapper: Any, _connection: Any, target: Invoice) -> None:
    state = inspect(target)
    changed = {attribute.key for attribute in state.attrs if attribute.history.has_changes()}
    changed -= {"lines", "event", "order", "refers"}
    forbidden = sorted(changed - MUTABLE_INVOICE_COLUMNS)
    if forbidden:
        raise InvoiceImmutable(f"invoice {target.full_invoice_no} is issued; cannot change {', '.join(forbidden)}")


@event.listens_for(InvoiceLine, "before_update")
def refuse_line_changes(_mapper: Any, _connection: Any, target: InvoiceLine) -> None:
    raise InvoiceImmutable(f"line {target.position} belongs to an issued invoice and cannot change")
