"""The kernel's domain model (the part the foundation needs; later issues add to it through migrations).

Field names follow pretix's REST API so the API layer maps them one to one. Money is ``Decimal``; multilingual
text is a ``{"en": …, "de": …}`` JSON object.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime

if TYPE_CHECKING:
    from boxoffice.kernel.models.items import Item
    from boxoffice.kernel.models.quotas import Quota


class Organizer(Base):
    __tablename__ = "organizer"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Organizer-level and hybrid plugins switched on for the whole organizer.
    plugins: Mapped[list[str]] = mapped_column(JSON, default=list)

    events: Mapped[list[Event]] = relationship(back_populates="organizer", cascade="all, delete-orphan")


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("organizer_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(50))
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(10), default="EUR")
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    testmode: Mapped[bool] = mapped_column(Boolean, default=False)
    date_from: Mapped[datetime] = mapped_column(UTCDateTime)
    date_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    date_admission: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    presale_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    presale_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    location: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    geo_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    geo_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Event series: the dates are sub-events. Fixed once the event exists.
    has_subevents: Mapped[bool] = mapped_column(Boolean, default=False)
    meta_data: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    seating_plan: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seat_category_mapping: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    item_meta_properties: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    all_sales_channels: Mapped[bool] = mapped_column(Boolean, default=True)
    limit_sales_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(100), default="UTC")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # Event-level plugins enabled on this event, by entry-point name (pretix's event ``plugins`` field).
    plugins: Mapped[list[str]] = mapped_column(JSON, default=list)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    organizer: Mapped[Organizer] = relationship(back_populates="events")
    items: Mapped[list[Item]] = relationship(back_populates="event", cascade="all, delete-orphan")
    quotas: Mapped[list[Quota]] = relationship(back_populates="event", cascade="all, delete-orphan")


class Setting(Base):
    """One stored value of the global → organizer → event settings hierarchy."""

    __tablename__ = "setting"
    __table_args__ = (UniqueConstraint("scope", "scope_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)


class LogEntry(Base):
    """Audit log: who changed what, when, with which data. Shredders may rewrite ``data`` but never delete rows."""

    __tablename__ = "log_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    datetime: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), nullable=True)
    # Entries outlive a deleted event: the audit trail of the deletion itself must stay.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"), nullable=True)
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(100))
    action_type: Mapped[str] = mapped_column(String(255), index=True)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shredded: Mapped[bool] = mapped_column(Boolean, default=False)


def _new_job_id() -> str:
    return uuid.uuid4().hex


class JobRecord(Base):
    """State of one background job, shared by the in-process runner and Celery workers."""

    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_new_job_id)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
