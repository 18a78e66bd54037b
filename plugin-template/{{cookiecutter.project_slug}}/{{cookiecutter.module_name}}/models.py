"""Database models of {{ cookiecutter.plugin_name }}.

They share the kernel's ``Base`` (one metadata, so foreign keys to kernel tables resolve). Prefix every table with
the plugin's entry-point name, and change the schema only through a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from boxoffice.kernel.db import Base
from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column


class Note(Base):
    """A free-text note attached to an event (an example table: rename or replace it)."""

    __tablename__ = "{{ cookiecutter.entry_point_name }}_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
