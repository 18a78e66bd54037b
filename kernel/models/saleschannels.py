"""Sales channels: where an organizer sells (the online shop, API integrations, …), addressed by identifier."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, event, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column

from boxoffice.kernel.db import Base
from boxoffice.kernel.models.core import Organizer

# Channels every organizer has; they are part of the system and cannot be deleted.
BUILTIN_CHANNELS: dict[str, dict[str, Any]] = {
    "web": {"label": {"en": "Online shop"}, "type": "web", "position": 0},
}


class SalesChannel(Base):
    __tablename__ = "sales_channel"
    __table_args__ = (UniqueConstraint("organizer_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(190))
    label: Mapped[dict[str, str]] = mapped_column(JSON)
    type: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def is_builtin(self) -> bool:
        return self.identifier in BUILTIN_CHANNELS


def _builtin_rows(organizer_id: int, identifiers: set[str] | None = None) -> list[dict[str, Any]]:
    return [
        {"organizer_id": organizer_id, "identifier": identifier, **values}
        for identifier, values in BUILTIN_CHANNELS.items()
        if identifiers is None or identifier in identifiers
    ]


@event.listens_for(Organizer, "after_insert")
def _create_builtin_channels(_mapper: Mapper[Organizer], connection: Connection, organizer: Organizer) -> None:
    connection.execute(insert(SalesChannel), _builtin_rows(organizer.id))


def ensure_builtin_channels(session: Session, organizer_id: int) -> None:
    """Create missing built-in channels (organizers created outside the ORM, e.g. by raw SQL)."""
    present = set(
        session.scalars(
            select(SalesChannel.identifier).where(
                SalesChannel.organizer_id == organizer_id, SalesChannel.identifier.in_(list(BUILTIN_CHANNELS))
            )
        )
    )
    missing = set(BUILTIN_CHANNELS) - present
    if not missing:
        return
    try:
        with session.begin_nested():
            session.execute(insert(SalesChannel), _builtin_rows(organizer_id, missing))
    except IntegrityError:
        # A concurrent request created them first.
        pass


def channel_identifiers(session: Session, organizer_id: int) -> set[str]:
    """The identifiers of an organizer's channels (for validating ``limit_sales_channels`` elsewhere)."""
    ensure_builtin_channels(session, organizer_id)
    return set(session.scalars(select(SalesChannel.identifier).where(SalesChannel.organizer_id == organizer_id)))
