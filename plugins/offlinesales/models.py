"""Offline sales batches: a number of paid orders of one product made at once to be sold outside the system, and
which orders belong to which batch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models import Event


class OfflineSalesBatch(Base):
    """What was asked for (product, date, channel, layout, amount); the orders are linked by
    :class:`OfflineSalesBatchOrder`."""

    __tablename__ = "offlinesales_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    creation: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    testmode: Mapped[bool] = mapped_column(Boolean, default=False)
    sales_channel: Mapped[str] = mapped_column(String(190))
    # The PDF plugin's layout the tickets are printed with (checked when the batch is created; no foreign key into
    # another plugin's tables, whose migrations run independently). A deleted layout leaves the product's usual one.
    layout_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subevent_id: Mapped[int | None] = mapped_column(ForeignKey("subevent.id", ondelete="CASCADE"), nullable=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    variation_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_variation.id", ondelete="SET NULL"), nullable=True
    )
    amount: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(100), nullable=True)

    event: Mapped[Event] = relationship()


class OfflineSalesBatchOrder(Base):
    """An order made by a batch (deleted with the order, e.g. a test-mode order)."""

    __tablename__ = "offlinesales_batch_order"

    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("offlinesales_batch.id", ondelete="CASCADE"), index=True)
