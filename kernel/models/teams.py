"""Teams, their permissions, members, pending invites and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event, Organizer
from boxoffice.kernel.models.users import User

team_limit_events = Table(
    "team_limit_events",
    Base.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
)

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(190))
    all_events: Mapped[bool] = mapped_column(Boolean, default=False)
    require_2fa: Mapped[bool] = mapped_column(Boolean, default=False)
    # Permission names as the REST API spells them (``event.orders:write``, ``organizer.teams:write`` …);
    # the ``all_*`` flags grant every name, including those plugins add later.
    all_organizer_permissions: Mapped[bool] = mapped_column(Boolean, default=False)
    limit_organizer_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    all_event_permissions: Mapped[bool] = mapped_column(Boolean, default=False)
    limit_event_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)

    organizer: Mapped[Organizer] = relationship()
    limit_events: Mapped[list[Event]] = relationship(secondary=team_limit_events)
    members: Mapped[list[User]] = relationship(secondary=team_members)
    invites: Mapped[list[TeamInvite]] = relationship(back_populates="team", cascade="all, delete-orphan")
    tokens: Mapped[list[TeamAPIToken]] = relationship(back_populates="team", cascade="all, delete-orphan")


class TeamInvite(Base):
    """An invitation of an e-mail address that has no user account yet; accepted through the web UI."""

    __tablename__ = "team_invite"
    __table_args__ = (UniqueConstraint("team_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(190))
    # Only a SHA-256 digest of the secret in the invitation link is stored.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    team: Mapped[Team] = relationship(back_populates="invites")


class TeamAPIToken(Base):
    __tablename__ = "team_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(190))
    # Only a SHA-256 digest is stored; the token itself is shown once, when it is created.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # Once deactivated a token stays dead: there is no way back to active.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    team: Mapped[Team] = relationship(back_populates="tokens")
