"""The mail outbox: every e-mail the kernel sends is stored first, then delivered by a job and retried on failure.

Storing before sending makes a mail survive a crash or an unreachable SMTP server between the change that caused it
and its delivery, and leaves a record of what was sent to whom.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime

MAIL_QUEUED = "queued"
MAIL_SENT = "sent"
MAIL_FAILED = "failed"
MAIL_STATUSES = (MAIL_QUEUED, MAIL_SENT, MAIL_FAILED)


class OutboxMail(Base):
    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), nullable=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"), nullable=True)
    # What caused the mail (``order.resend_link``, ``invoice.transmission`` …), for the organizer's mail log.
    kind: Mapped[str] = mapped_column(String(100))
    sender: Mapped[str] = mapped_column(String(254))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    reply_to: Mapped[str | None] = mapped_column(String(254), nullable=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # [{"filename", "content_type", "content" (base64)}]: attachments are part of what was sent, so they are kept.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=MAIL_QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Deliveries tried before the mail is given up; 1 for mails whose sender retries by itself (transmissions).
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    # When a queued mail is due (again); None for mails that are sent or given up.
    next_attempt: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
