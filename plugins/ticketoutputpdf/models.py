"""Ticket layouts of the PDF output: the layout itself, its background PDF and which products use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models import Event


class TicketLayout(Base):
    """A named list of positioned elements (texts, codes, images) drawn on a background PDF."""

    __tablename__ = "ticketoutputpdf_layout"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(190))
    # The event's default layout, used for products without an assignment; at most one per event.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Content digest of the background PDF (part of its URL, so a new file gets a new URL); None = blank A4.
    background_file: Mapped[str | None] = mapped_column(String(64), nullable=True)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    event: Mapped[Event] = relationship()
    assignments: Mapped[list[TicketLayoutItem]] = relationship(
        back_populates="layout", order_by="TicketLayoutItem.id", cascade="all, delete-orphan", passive_deletes=True
    )


class TicketLayoutBackground(Base):
    """The bytes of a layout's background PDF, kept apart so that listing layouts never loads files."""

    __tablename__ = "ticketoutputpdf_background"

    layout_id: Mapped[int] = mapped_column(
        ForeignKey("ticketoutputpdf_layout.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class TicketLayoutItem(Base):
    """Products sold through a sales channel get this layout instead of the default one."""

    __tablename__ = "ticketoutputpdf_layout_item"
    __table_args__ = (UniqueConstraint("item_id", "sales_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    layout_id: Mapped[int] = mapped_column(ForeignKey("ticketoutputpdf_layout.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    sales_channel: Mapped[str] = mapped_column(String(190), default="web")

    layout: Mapped[TicketLayout] = relationship(back_populates="assignments")
