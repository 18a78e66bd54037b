"""State the REST API keeps between requests: idempotency keys and uploaded files."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime


class IdempotencyKey(Base):
    """A stored response for ``X-Idempotency-Key``; keyed by the caller's credentials and the key."""

    __tablename__ = "idempotency_key"

    credentials: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(190), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(1000))
    # None while the first request is still running.
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headers: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)


# How long an uploaded file can be referenced; a periodic job of the core plugin deletes older ones.
UPLOAD_LIFETIME = timedelta(hours=24)


class UploadedFile(Base):
    """A file sent to ``POST /api/v1/upload``, referenced as ``file:<id>`` for 24 hours by the same caller."""

    __tablename__ = "uploaded_file"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # ``credentials_key`` of the uploading request: only the same credentials may use the file.
    credentials: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
