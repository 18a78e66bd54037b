"""Tables of the webhooks plugin: the organizer's webhook endpoints and the log of calls made to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime


class Webhook(Base):
    """A target URL an organizer wants told about some action types, for all or some of its events."""

    __tablename__ = "webhooks_webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    target_url: Mapped[str] = mapped_column(String(255))
    all_events: Mapped[bool] = mapped_column(Boolean, default=True)
    limit_events: Mapped[list[str]] = mapped_column(JSON, default=list)
    action_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebhookCall(Base):
    """One HTTP request made to a webhook, kept for 30 days."""

    __tablename__ = "webhooks_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks_webhook.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    datetime: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    target_url: Mapped[str] = mapped_column(String(255))
    action_type: Mapped[str] = mapped_column(String(255))
    is_retry: Mapped[bool] = mapped_column(Boolean, default=False)
    execution_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    return_code: Mapped[int] = mapped_column(Integer, default=0)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response_body: Mapped[str] = mapped_column(Text, default="")
