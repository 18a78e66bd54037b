"""When a list last changed, per event and resource: answers ``If-Modified-Since`` for lists whose rows may also be
deleted (a deletion leaves no row behind to carry a newer timestamp)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime


class ChangeMarker(Base):
    __tablename__ = "change_marker"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    resource: Mapped[str] = mapped_column(String(50), primary_key=True)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
