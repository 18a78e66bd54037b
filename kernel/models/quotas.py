"""Quotas: how many of which products (and variations) may be sold, per event or sub-event."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base
from boxoffice.kernel.models.core import Event
from boxoffice.kernel.models.items import Item

quota_items = Table(
    "quota_items",
    Base.metadata,
    Column("quota_id", ForeignKey("quota.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
)

# Variations are another area's class: referenced by table name only, no ORM relationship.
quota_variations = Table(
    "quota_variations",
    Base.metadata,
    Column("quota_id", ForeignKey("quota.id", ondelete="CASCADE"), primary_key=True),
    Column("variation_id", ForeignKey("item_variation.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Quota(Base):
    __tablename__ = "quota"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    # Set exactly when the event is a series: each date has quotas of its own.
    subevent_id: Mapped[int | None] = mapped_column(
        ForeignKey("subevent.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # None means unlimited.
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Once sold out the quota closes and stays closed, even when cancellations free capacity again.
    close_when_sold_out: Mapped[bool] = mapped_column(Boolean, default=False)
    release_after_exit: Mapped[bool] = mapped_column(Boolean, default=False)
    ignore_for_event_availability: Mapped[bool] = mapped_column(Boolean, default=False)

    event: Mapped[Event] = relationship(back_populates="quotas")
    items: Mapped[list[Item]] = relationship(secondary=quota_items)


def variation_ids_by_quota(session: Session, quota_ids: list[int]) -> dict[int, list[int]]:
    """The variation ids of each quota, in one query (variations have no ORM relationship here)."""
    found: dict[int, list[int]] = {quota_id: [] for quota_id in quota_ids}
    if not quota_ids:
        return found
    rows = session.execute(
        select(quota_variations.c.quota_id, quota_variations.c.variation_id)
        .where(quota_variations.c.quota_id.in_(quota_ids))
        .order_by(quota_variations.c.variation_id)
    )
    for quota_id, variation_id in rows:
        found[quota_id].append(variation_id)
    return found


@register_copier(60, "quotas")
def copy_quotas(context: CopyContext) -> None:
    """Copy quotas with their items and variations (translated through the id map) and sub-event."""
    session = context.session
    sources = list(session.scalars(select(Quota).where(Quota.event_id == context.source.id).order_by(Quota.id)))
    variations = variation_ids_by_quota(session, [quota.id for quota in sources])
    item_map = context.ids["item"]
    variation_map = context.ids["item_variation"]
    subevent_map = context.ids["subevent"]
    for old in sources:
        if old.subevent_id is not None and old.subevent_id not in subevent_map:
            # A date that was not copied along has no counterpart for this quota.
            continue
        new = Quota(
            event_id=context.target.id,
            subevent_id=subevent_map.get(old.subevent_id) if old.subevent_id is not None else None,
            name=old.name,
            size=old.size,
            closed=old.closed,
            close_when_sold_out=old.close_when_sold_out,
            release_after_exit=old.release_after_exit,
            ignore_for_event_availability=old.ignore_for_event_availability,
        )
        session.add(new)
        session.flush()
        item_ids = [item.id for item in old.items if item.id in item_map]
        if item_ids:
            session.execute(insert(quota_items), [{"quota_id": new.id, "item_id": item_map[i]} for i in item_ids])
        copied = [variation_map[v] for v in variations[old.id] if v in variation_map]
        if copied:
            session.execute(insert(quota_variations), [{"quota_id": new.id, "variation_id": v} for v in copied])
        context.ids["quota"][old.id] = new.id
