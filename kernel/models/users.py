"""Users: people who log in to the backend and are members of teams (the API lists and removes team members)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Compared case-insensitively everywhere (invites, log-in); kept as entered for display.
    email: Mapped[str] = mapped_column(String(190), unique=True)
    fullname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    locale: Mapped[str] = mapped_column(String(50), default="en")
    timezone: Mapped[str] = mapped_column(String(100), default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether the user has set up two-factor authentication (the team member resource's ``require_2fa``).
    require_2fa: Mapped[bool] = mapped_column(Boolean, default=False)
    # A password hash for the web login; None for users who have not set a password yet.
    password: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
