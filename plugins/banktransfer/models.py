"""Tables of the bank transfer plugin: import jobs with their bank transactions, the bookings that keep a statement
line from paying twice, and refund exports.

All tables carry the plugin's prefix; the schema changes only through revisions in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime

JOB_STATES = ("pending", "running", "error", "completed")
TRANSACTION_STATES = ("imported", "nomatch", "invalid", "error", "valid", "discarded", "already")


class ImportJob(Base):
    """One batch of bank transactions handed in through the API or as a statement file, matched in a job."""

    __tablename__ = "banktransfer_import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    # Who handed the statement in: bookings made by the job are audit-logged in their name.
    actor_type: Mapped[str] = mapped_column(String(20), default="system")
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(20), default="api")

    transactions: Mapped[list[BankTransaction]] = relationship(
        back_populates="job", order_by="BankTransaction.id", passive_deletes=True
    )


class BankTransaction(Base):
    """One incoming transfer as the bank reported it, and what matching made of it."""

    __tablename__ = "banktransfer_transaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("banktransfer_import_job.id", ondelete="CASCADE"), index=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="imported", index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    payer: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    iban: Mapped[str] = mapped_column(String(64), default="")
    bic: Mapped[str] = mapped_column(String(64), default="")
    date: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str | None] = mapped_column(String(190), nullable=True, index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"), nullable=True, index=True)
    order_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")

    job: Mapped[ImportJob] = relationship(back_populates="transactions")


class Booking(Base):
    """A statement line that moved money into an order, by its de-duplication key (the bank's id when it gave one,
    the checksum otherwise). The unique key is what stops a re-imported or concurrently imported line from paying
    twice: the second insert fails inside the booking's savepoint and the booking rolls back."""

    __tablename__ = "banktransfer_booking"
    __table_args__ = (UniqueConstraint("organizer_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("banktransfer_transaction.id", ondelete="CASCADE"), index=True
    )


class RefundExport(Base):
    """Pending bank transfer refunds collected into one SEPA credit-transfer file."""

    __tablename__ = "banktransfer_refund_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    # What went into the file, frozen: payer names and accounts may be shredded from the refunds later.
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    downloads: Mapped[int] = mapped_column(Integer, default=0)


class ExportedRefund(Base):
    """A refund that is part of an export; unique, so no refund is ever put into two files."""

    __tablename__ = "banktransfer_exported_refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named explicitly: the conventional name is longer than PostgreSQL's 63-character limit.
    export_id: Mapped[int] = mapped_column(
        ForeignKey("banktransfer_refund_export.id", ondelete="CASCADE", name="fk_banktransfer_exported_refund_export"),
        index=True,
    )
    refund_id: Mapped[int] = mapped_column(ForeignKey("order_refund.id", ondelete="CASCADE"), unique=True)
