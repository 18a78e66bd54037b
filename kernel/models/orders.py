"""Orders and everything that hangs off them: positions, fees, answers, invoice addresses, payments, refunds, the
financial ledger (transactions), revoked secrets and print logs; and cart positions, which reserve quota before an
order exists.

Status values follow pretix: orders ``n`` pending, ``p`` paid, ``e`` expired, ``c`` canceled. Positions and fees
are never deleted from a live order; they are marked ``canceled``. Payments and refunds are append-only attempts
with their own states. The ledger (:class:`Transaction`) is append-only; :mod:`boxoffice.kernel.orders.ledger`
writes it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event

STATUS_PENDING = "n"
STATUS_PAID = "p"
STATUS_EXPIRED = "e"
STATUS_CANCELED = "c"
ORDER_STATUSES = (STATUS_PENDING, STATUS_PAID, STATUS_EXPIRED, STATUS_CANCELED)
# Orders in these states hold quota.
QUOTA_HOLDING_STATUSES = (STATUS_PENDING, STATUS_PAID)

PAYMENT_STATES = ("created", "pending", "confirmed", "canceled", "failed", "refunded")
REFUND_STATES = ("created", "transit", "external", "canceled", "failed", "done")
REFUND_SOURCES = ("buyer", "admin", "external")
FEE_TYPES = ("payment", "shipping", "service", "cancellation", "insurance", "late", "other", "giftcard")
TAX_ROUNDING_MODES = ("line", "sum_by_net", "sum_by_net_keep_gross")


class Order(Base):
    __tablename__ = "order"
    __table_args__ = (UniqueConstraint("event_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(3), default=STATUS_PENDING, index=True)
    testmode: Mapped[bool] = mapped_column(Boolean, default=False)
    # The buyer's link to the order page carries this.
    secret: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locale: Mapped[str] = mapped_column(String(32), default="en")
    sales_channel: Mapped[str] = mapped_column(String(190), default="web")
    datetime: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)
    total: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))
    tax_rounding_mode: Mapped[str] = mapped_column(String(32), default="line")
    comment: Mapped[str] = mapped_column(Text, default="")
    api_meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    custom_followup_at: Mapped[date | None] = mapped_column(Date, nullable=True)
    checkin_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    checkin_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_if_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now, index=True)
    cancellation_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    plugin_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    event: Mapped[Event] = relationship()
    positions: Mapped[list[OrderPosition]] = relationship(
        back_populates="order", order_by="OrderPosition.positionid", passive_deletes=True
    )
    fees: Mapped[list[OrderFee]] = relationship(back_populates="order", order_by="OrderFee.id", passive_deletes=True)
    payments: Mapped[list[OrderPayment]] = relationship(
        back_populates="order", order_by="OrderPayment.local_id", passive_deletes=True
    )
    refunds: Mapped[list[OrderRefund]] = relationship(
        back_populates="order", order_by="OrderRefund.local_id", passive_deletes=True
    )
    invoice_address: Mapped[InvoiceAddress | None] = relationship(
        back_populates="order", uselist=False, passive_deletes=True
    )

    @property
    def live_positions(self) -> list[OrderPosition]:
        return [position for position in self.positions if not position.canceled]

    @property
    def live_fees(self) -> list[OrderFee]:
        return [fee for fee in self.fees if not fee.canceled]


class InvoiceAddress(Base):
    __tablename__ = "invoice_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), unique=True)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    company: Mapped[str] = mapped_column(String(255), default="")
    is_business: Mapped[bool] = mapped_column(Boolean, default=False)
    name_parts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    street: Mapped[str] = mapped_column(Text, default="")
    zipcode: Mapped[str] = mapped_column(String(30), default="")
    city: Mapped[str] = mapped_column(String(255), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    state: Mapped[str] = mapped_column(String(255), default="")
    internal_reference: Mapped[str] = mapped_column(Text, default="")
    vat_id: Mapped[str] = mapped_column(String(255), default="")
    vat_id_validated: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_field: Mapped[str | None] = mapped_column(String(255), nullable=True)
    transmission_type: Mapped[str] = mapped_column(String(100), default="email")
    transmission_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    order: Mapped[Order] = relationship(back_populates="invoice_address")


class OrderPosition(Base):
    __tablename__ = "order_position"
    __table_args__ = (
        UniqueConstraint("order_id", "positionid"),
        # Quota counting filters positions by product and date; the order status comes from the join.
        Index("ix_order_position_quota_scope", "item_id", "subevent_id", "variation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    positionid: Mapped[int] = mapped_column(Integer)
    canceled: Mapped[bool] = mapped_column(Boolean, default=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    variation_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_variation.id", ondelete="RESTRICT"), nullable=True
    )
    subevent_id: Mapped[int | None] = mapped_column(ForeignKey("subevent.id", ondelete="RESTRICT"), nullable=True)
    price: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))
    attendee_name_parts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The full name as one string, kept for search and sorting.
    attendee_name_cached: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attendee_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    company: Mapped[str | None] = mapped_column(String(255), nullable=True)
    street: Mapped[str | None] = mapped_column(Text, nullable=True)
    zipcode: Mapped[str | None] = mapped_column(String(30), nullable=True)
    city: Mapped[str | None] = mapped_column(String(255), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    state: Mapped[str | None] = mapped_column(String(255), nullable=True)
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("voucher.id", ondelete="SET NULL"), nullable=True)
    voucher_budget_use: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0.00"))
    tax_value: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))
    tax_code: Mapped[str | None] = mapped_column(String(190), nullable=True)
    tax_rule_id: Mapped[int | None] = mapped_column(ForeignKey("tax_rule.id", ondelete="SET NULL"), nullable=True)
    secret: Mapped[str] = mapped_column(String(255), index=True)
    web_secret: Mapped[str] = mapped_column(String(32))
    addon_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_position.id", ondelete="CASCADE"), nullable=True, index=True
    )
    is_bundled: Mapped[bool] = mapped_column(Boolean, default=False)
    discount_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Active block names ("admin", "api:…", plugin names); any block makes the ticket unusable.
    blocked: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pseudonymization_id: Mapped[str] = mapped_column(String(16), index=True)
    seat_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    plugin_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    order: Mapped[Order] = relationship(back_populates="positions")
    answers: Mapped[list[QuestionAnswer]] = relationship(
        back_populates="position", order_by="QuestionAnswer.id", passive_deletes=True
    )


class OrderFee(Base):
    __tablename__ = "order_fee"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    fee_type: Mapped[str] = mapped_column(String(100))
    value: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    description: Mapped[str] = mapped_column(String(190), default="")
    internal_type: Mapped[str] = mapped_column(String(255), default="")
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0.00"))
    tax_value: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))
    tax_code: Mapped[str | None] = mapped_column(String(190), nullable=True)
    tax_rule_id: Mapped[int | None] = mapped_column(ForeignKey("tax_rule.id", ondelete="SET NULL"), nullable=True)
    canceled: Mapped[bool] = mapped_column(Boolean, default=False)

    order: Mapped[Order] = relationship(back_populates="fees")


class QuestionAnswer(Base):
    """An answer to a question, given for an order position or (before checkout) for a cart position."""

    __tablename__ = "question_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    orderposition_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_position.id", ondelete="CASCADE"), nullable=True, index=True
    )
    cartposition_id: Mapped[int | None] = mapped_column(
        ForeignKey("cart_position.id", ondelete="CASCADE"), nullable=True, index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    # Ids of the chosen question options (choice questions), in the order given.
    option_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Uploaded files (file questions): the stored upload's id.
    file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    position: Mapped[OrderPosition | None] = relationship(back_populates="answers")


class OrderPayment(Base):
    __tablename__ = "order_payment"
    __table_args__ = (UniqueConstraint("order_id", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    local_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="created", index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    payment_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    provider: Mapped[str] = mapped_column(String(100), index=True)
    # Provider-specific facts (processor ids, payer account, …); the provider decides what the API shows.
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fee_id: Mapped[int | None] = mapped_column(ForeignKey("order_fee.id", ondelete="SET NULL"), nullable=True)

    order: Mapped[Order] = relationship(back_populates="payments")


class OrderRefund(Base):
    __tablename__ = "order_refund"
    __table_args__ = (UniqueConstraint("order_id", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    local_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="created", index=True)
    source: Mapped[str] = mapped_column(String(20), default="admin")
    amount: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    execution_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    provider: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_payment.id", ondelete="SET NULL"), nullable=True, index=True
    )

    order: Mapped[Order] = relationship(back_populates="refunds")


class Transaction(Base):
    """One row of the debit-side ledger: something was sold (``count`` 1) or taken back (``count`` -1)."""

    __tablename__ = "order_transaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    datetime: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    positionid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # What the row is about, so the ledger can be compared with the current state of the order.
    position_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fee_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    variation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subevent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    price: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    tax_rule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tax_code: Mapped[str | None] = mapped_column(String(190), nullable=True)
    tax_value: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    fee_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    internal_type: Mapped[str | None] = mapped_column(String(255), nullable=True)


class RevokedSecret(Base):
    """A ticket secret that was replaced; scanners must refuse it."""

    __tablename__ = "revoked_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("order_position.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(String(255), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)


class BlockedSecret(Base):
    """Current (and former) block state of a ticket secret, for offline scanners that sync block lists."""

    __tablename__ = "blocked_secret"
    __table_args__ = (UniqueConstraint("event_id", "secret"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(String(255))
    blocked: Mapped[bool] = mapped_column(Boolean, default=True)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now, index=True)


class PrintLog(Base):
    __tablename__ = "print_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("order_position.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    datetime: Mapped[datetime] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(20))
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CartPosition(Base):
    """A product held for a buyer who has not ordered yet: counts against quotas until ``expires``."""

    __tablename__ = "cart_position"
    __table_args__ = (Index("ix_cart_position_quota_scope", "item_id", "subevent_id", "variation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    cart_id: Mapped[str] = mapped_column(String(255), index=True)
    datetime: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    variation_id: Mapped[int | None] = mapped_column(ForeignKey("item_variation.id", ondelete="CASCADE"), nullable=True)
    subevent_id: Mapped[int | None] = mapped_column(ForeignKey("subevent.id", ondelete="CASCADE"), nullable=True)
    price: Mapped[Decimal] = mapped_column(Numeric(13, 2))
    attendee_name_parts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    attendee_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("voucher.id", ondelete="SET NULL"), nullable=True)
    addon_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("cart_position.id", ondelete="CASCADE"), nullable=True, index=True
    )
    is_bundled: Mapped[bool] = mapped_column(Boolean, default=False)
    sales_channel: Mapped[str] = mapped_column(String(190), default="web")
    seat_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
