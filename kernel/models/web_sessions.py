"""Server-side sessions of the web pages (control panel log-in, the shop's cart), shared by every worker process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.db import Base, UTCDateTime


class WebSession(Base):
    __tablename__ = "web_session"

    # The random session id from the cookie; stored as it is because the cookie is the only way to present it.
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
