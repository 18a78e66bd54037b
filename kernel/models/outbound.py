"""The outbound queue (transactional outbox) and what data sync keeps: configured mappings and results per object.

An :class:`OutboundEntry` is written in the transaction that caused it, so a rolled-back change sends nothing and a
committed one is never lost; workers claim entries with a lease and record the outcome on the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.clock import now
from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base, UTCDateTime

OUTBOUND_WAITING = "waiting"
OUTBOUND_INFLIGHT = "inflight"
OUTBOUND_DELIVERED = "delivered"
OUTBOUND_FAILED = "failed"
OUTBOUND_DISCARDED = "discarded"
OUTBOUND_STATUSES = (OUTBOUND_WAITING, OUTBOUND_INFLIGHT, OUTBOUND_DELIVERED, OUTBOUND_FAILED, OUTBOUND_DISCARDED)


class OutboundEntry(Base):
    """One delivery to one receiver (a webhook call, the sync of one order to one provider…)."""

    __tablename__ = "outbound_entry"
    __table_args__ = (
        Index("ix_outbound_entry_due", "status", "next_attempt"),
        Index("ix_outbound_entry_stream", "channel", "target", "object_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(64))
    # The receiver within the channel (a webhook id, a sync provider identifier).
    target: Mapped[str] = mapped_column(String(190))
    # Entries of one (channel, target, object_key) are delivered in the order they were written.
    object_key: Mapped[str] = mapped_column(String(190), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Sent with every attempt so a receiver can drop a repeat of a delivery it already handled.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OUTBOUND_WAITING)
    failure_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_attempt: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set while in flight: who holds the entry and until when; a lapsed lease means the worker died.
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SyncMapping(Base):
    """One organizer-configured mapping of a data sync provider on an event (pretix's property mapping set)."""

    __tablename__ = "sync_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    source_model: Mapped[str] = mapped_column(String(32))
    external_object_type: Mapped[str] = mapped_column(String(128))
    source_id_field: Mapped[str] = mapped_column(String(190))
    external_id_field: Mapped[str] = mapped_column(String(190))
    # [{"source_field", "external_field", "value_map": {…}, "mode"}]
    property_mappings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class SyncResult(Base):
    """The external object an order (or one of its positions) became in a provider's system, per mapping."""

    __tablename__ = "sync_result"
    __table_args__ = (Index("ix_sync_result_object", "order_id", "provider", "mapping_key", "position_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"))
    position_id: Mapped[int | None] = mapped_column(ForeignKey("order_position.id", ondelete="CASCADE"), nullable=True)
    provider: Mapped[str] = mapped_column(String(64))
    mapping_key: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(128))
    external_id_field: Mapped[str] = mapped_column(String(190))
    id_value: Mapped[str] = mapped_column(Text)
    external_link_href: Mapped[str | None] = mapped_column(Text, nullable=True)
    external_link_display_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    sync_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    transmitted: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


CHECKIN_DATE_PREFIX = "checkin_date_"
INVALID_PREFIX = "_invalid_"


def translate_property_mappings(
    property_mappings: list[dict[str, Any]], checkin_list_ids: dict[int, int]
) -> list[dict[str, Any]]:
    """Point source fields that name a check-in list (``checkin_date_<id>``) at the copied list of a new event.

    A field whose list was not copied becomes ``_invalid_checkin_date_<id>``: syncing it then stops with a
    configuration error the organizer sees, instead of reading the other event's check-ins.
    """
    translated = []
    for mapping in property_mappings:
        source = str(mapping.get("source_field", ""))
        if source.startswith(CHECKIN_DATE_PREFIX):
            old_id = source.removeprefix(CHECKIN_DATE_PREFIX)
            new_id = checkin_list_ids.get(int(old_id)) if old_id.isdigit() else None
            source = f"{CHECKIN_DATE_PREFIX}{new_id}" if new_id is not None else f"{INVALID_PREFIX}{source}"
        translated.append({**mapping, "source_field": source})
    return translated


@register_copier(90, "sync_mappings")
def copy_sync_mappings(context: CopyContext) -> None:
    checkin_lists = context.ids.get("checkin_list", {})
    for mapping in context.session.scalars(
        select(SyncMapping).where(SyncMapping.event_id == context.source.id).order_by(SyncMapping.id)
    ):
        context.session.add(
            SyncMapping(
                event_id=context.target.id,
                provider=mapping.provider,
                position=mapping.position,
                source_model=mapping.source_model,
                external_object_type=mapping.external_object_type,
                source_id_field=mapping.source_id_field,
                external_id_field=mapping.external_id_field,
                property_mappings=translate_property_mappings(mapping.property_mappings, checkin_lists),
            )
        )
