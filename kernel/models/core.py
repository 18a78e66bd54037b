"""The kernel's domain model (the part the foundation needs; later issues add to it through migrations).

Field names follow pretix's REST API so the API layer maps them one to one. Money is ``Decimal``; multilingual
text is a ``{"en": …, "de": …}`` JSON object.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime


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


quota_items = Table(
    "quota_items",
    Base.metadata,
    Column("quota_id", ForeignKey("quota.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
)


class Item(Base):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    default_price: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    admission: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="items")


class Quota(Base):
    __tablename__ = "quota"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # None means unlimited.
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)

    event: Mapped[Event] = relationship(back_populates="quotas")
    items: Mapped[list[Item]] = relationship(secondary=quota_items)


team_limit_events = Table(
    "team_limit_events",
    Base.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
)


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(190))
    all_events: Mapped[bool] = mapped_column(Boolean, default=False)
    # Permission names as the REST API spells them (``event.orders:write``, ``organizer.teams:write`` …);
    # the ``all_*`` flags grant every name, including those plugins add later.
    all_organizer_permissions: Mapped[bool] = mapped_column(Boolean, default=False)
    limit_organizer_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    all_event_permissions: Mapped[bool] = mapped_column(Boolean, default=False)
    limit_event_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)

    organizer: Mapped[Organizer] = relationship()
    limit_events: Mapped[list[Event]] = relationship(secondary=team_limit_events)
    tokens: Mapped[list[TeamAPIToken]] = relationship(back_populates="team", cascade="all, delete-orphan")


class TeamAPIToken(Base):
    __tablename__ = "team_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(190))
    # Only a SHA-256 digest is stored; the token itself is shown once, when it is created.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    team: Mapped[Team] = relationship(back_populates="tokens")


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
