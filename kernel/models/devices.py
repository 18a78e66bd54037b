"""Devices: scanners and POS terminals that authenticate with ``Authorization: Device <api token>``; and the
organizer's gates (entrances) a device can be assigned to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event, Organizer

device_limit_events = Table(
    "device_limit_events",
    Base.metadata,
    Column("device_id", ForeignKey("device.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
)


class Gate(Base):
    """An entrance of the organizer's venues. A device assigned to a gate records it on its scans and may only use
    check-in lists that include the gate (or lists limited to no gate)."""

    __tablename__ = "gate"
    __table_args__ = (UniqueConstraint("organizer_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(190))
    # A short code for exports and rules, unique within the organizer.
    identifier: Mapped[str] = mapped_column(String(190))


class Device(Base):
    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("organizer_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizer.id", ondelete="CASCADE"), index=True)
    # Number of the device within its organizer (the API's ``device_id``).
    device_id: Mapped[int] = mapped_column(Integer)
    unique_serial: Mapped[str] = mapped_column(String(190), unique=True)
    name: Mapped[str] = mapped_column(String(190))
    all_events: Mapped[bool] = mapped_column(Boolean, default=False)
    hardware_brand: Mapped[str | None] = mapped_column(String(190), nullable=True)
    hardware_model: Mapped[str | None] = mapped_column(String(190), nullable=True)
    os_name: Mapped[str | None] = mapped_column(String(190), nullable=True)
    os_version: Mapped[str | None] = mapped_column(String(190), nullable=True)
    software_brand: Mapped[str | None] = mapped_column(String(190), nullable=True)
    software_version: Mapped[str | None] = mapped_column(String(190), nullable=True)
    # PEM public key the device sends at initialization; set once, never changed by the device afterwards.
    rsa_pubkey: Mapped[str | None] = mapped_column(Text, nullable=True)
    info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    initialized: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # One-time token for the handshake. Kept after use (``initialized`` is set then) so that administrators still
    # see it and a second handshake with it can be told apart from an unknown token.
    initialization_token: Mapped[str | None] = mapped_column(String(190), nullable=True, unique=True)
    # Only a SHA-256 digest of the device's API token is stored; the token is shown once (initialize, roll).
    api_token_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    security_profile: Mapped[str] = mapped_column(String(190), default="full")
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gate.id", ondelete="SET NULL"), nullable=True, index=True)

    organizer: Mapped[Organizer] = relationship()
    gate: Mapped[Gate | None] = relationship()
    limit_events: Mapped[list[Event]] = relationship(secondary=device_limit_events)
