"""Teams, their permissions and API tokens."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.db import Base
from boxoffice.kernel.models.core import Event, Organizer

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
