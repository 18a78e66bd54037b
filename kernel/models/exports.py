"""Scheduled exports: an exporter run on a recurrence rule, its file e-mailed to the owner and further recipients."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime


class ScheduledExport(Base):
    """One schedule; ``event_id`` is ``None`` for an organizer-level (cross-event) export.

    Whose permissions limit the exported data at run time: the owning user's when the schedule has one, else the
    team whose API token created it (this server has no OAuth applications, so tokens create schedules too).
    """

    __tablename__ = "scheduled_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=True)
    owner_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), nullable=True)
    export_identifier: Mapped[str] = mapped_column(String(190))
    export_form_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(50), default="en")
    mail_additional_recipients: Mapped[str] = mapped_column(Text, default="")
    mail_additional_recipients_cc: Mapped[str] = mapped_column(Text, default="")
    mail_additional_recipients_bcc: Mapped[str] = mapped_column(Text, default="")
    mail_subject: Mapped[str] = mapped_column(String(255), default="")
    mail_template: Mapped[str] = mapped_column(Text, default="")
    schedule_rrule: Mapped[str] = mapped_column(Text)
    schedule_rrule_time: Mapped[time] = mapped_column(Time)
    # Only organizer-level schedules have their own; event-level ones follow the event's time zone setting.
    timezone: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # None once the rule has no further occurrence.
    schedule_next_run: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    error_counter: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
