"""Quotas: how many of which products (and variations) may be sold, per event or sub-event."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.db import Base
from boxoffice.kernel.models.core import Event
from boxoffice.kernel.models.items import Item

quota_items = Table(
    "quota_items",
    Base.metadata,
    Column("quota_id", ForeignKey("quota.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
)


class Quota(Base):
    __tablename__ = "quota"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # None means unlimited.
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)

    event: Mapped[Event] = relationship(back_populates="quotas")
    items: Mapped[list[Item]] = relationship(secondary=quota_items)
