"""Sub-events: the dates of an event series (events with ``has_subevents``), with per-date price overrides."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event


class SubEvent(Base):
    __tablename__ = "subevent"
    __table_args__ = (Index("ix_subevent_event_id_date_from", "event_id", "date_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    date_from: Mapped[datetime] = mapped_column(UTCDateTime)
    date_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    date_admission: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    presale_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    presale_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    frontpage_text: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    location: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    geo_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    geo_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    meta_data: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    seating_plan: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seat_category_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now, index=True)

    event: Mapped[Event] = relationship()
    item_overrides: Mapped[list[SubEventItem]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="SubEventItem.id"
    )
    variation_overrides: Mapped[list[SubEventItemVariation]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="SubEventItemVariation.id"
    )


class SubEventItem(Base):
    """A product's price and availability on one date (``item_price_overrides``)."""

    __tablename__ = "subevent_item"
    __table_args__ = (UniqueConstraint("subevent_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subevent_id: Mapped[int] = mapped_column(ForeignKey("subevent.id", ondelete="CASCADE"), index=True)
    # Items belong to another area: referenced by table name only.
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SubEventItemVariation(Base):
    """A variation's price and availability on one date (``variation_price_overrides``)."""

    __tablename__ = "subevent_item_variation"
    __table_args__ = (UniqueConstraint("subevent_id", "variation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subevent_id: Mapped[int] = mapped_column(ForeignKey("subevent.id", ondelete="CASCADE"), index=True)
    variation_id: Mapped[int] = mapped_column(ForeignKey("item_variation.id", ondelete="CASCADE"), index=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


COPIED_FIELDS = (
    "name",
    "active",
    "is_public",
    "date_from",
    "date_to",
    "date_admission",
    "presale_start",
    "presale_end",
    "frontpage_text",
    "location",
    "geo_lat",
    "geo_lon",
    "meta_data",
    "seating_plan",
)
OVERRIDE_FIELDS = ("price", "disabled", "available_from", "available_until")


@register_copier(25, "subevents")
def copy_subevents(context: CopyContext) -> None:
    """The dates themselves; their overrides follow once items and variations are copied."""
    subevents = context.session.scalars(
        select(SubEvent).where(SubEvent.event_id == context.source.id).order_by(SubEvent.id)
    ).all()
    for old in subevents:
        new = SubEvent(
            event_id=context.target.id,
            seat_category_mapping={},
            **{name: getattr(old, name) for name in COPIED_FIELDS},
        )
        context.session.add(new)
        context.session.flush()
        context.ids["subevent"][old.id] = new.id


@register_copier(36, "subevent_overrides")
def copy_subevent_overrides(context: CopyContext) -> None:
    subevents = context.ids.get("subevent", {})
    if not subevents:
        return
    items = context.ids.get("item", {})
    variations = context.ids.get("item_variation", {})
    session = context.session
    for old in session.scalars(select(SubEventItem).where(SubEventItem.subevent_id.in_(list(subevents)))):
        if old.item_id in items:
            session.add(
                SubEventItem(
                    subevent_id=subevents[old.subevent_id],
                    item_id=items[old.item_id],
                    **{name: getattr(old, name) for name in OVERRIDE_FIELDS},
                )
            )
    for old_variation in session.scalars(
        select(SubEventItemVariation).where(SubEventItemVariation.subevent_id.in_(list(subevents)))
    ):
        if old_variation.variation_id in variations:
            session.add(
                SubEventItemVariation(
                    subevent_id=subevents[old_variation.subevent_id],
                    variation_id=variations[old_variation.variation_id],
                    **{name: getattr(old_variation, name) for name in OVERRIDE_FIELDS},
                )
            )
    # Seat category mappings name items: translate them now that the copies exist.
    for old_id, new_id in subevents.items():
        old_subevent = session.get(SubEvent, old_id)
        new_subevent = session.get(SubEvent, new_id)
        if old_subevent is None or new_subevent is None or not old_subevent.seat_category_mapping:
            continue
        new_subevent.seat_category_mapping = {
            category: items.get(item_id) if item_id is not None else None
            for category, item_id in old_subevent.seat_category_mapping.items()
            if item_id is None or item_id in items
        }
