"""Check-in lists and check-ins.

A check-in list is a scanning context of one event (optionally one date of a series): it says which products it
admits and how repeated scans are treated. Every scan is recorded as a :class:`Checkin`, the refused ones too
(``successful`` false, with an ``error_reason``), so door staff and reports see what happened at the gate. An
annulled check-in stays in the history as unsuccessful with the reason ``annulled``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event
from boxoffice.kernel.models.devices import Gate
from boxoffice.kernel.models.items import Item

TYPE_ENTRY = "entry"
TYPE_EXIT = "exit"
CHECKIN_TYPES = (TYPE_ENTRY, TYPE_EXIT)

# Why a scan was refused (pretix's reason codes); ``annulled`` marks a check-in revoked after the fact.
REASON_INVALID = "invalid"
REASON_UNPAID = "unpaid"
REASON_CANCELED = "canceled"
REASON_ALREADY_REDEEMED = "already_redeemed"
REASON_PRODUCT = "product"
REASON_RULES = "rules"
REASON_REVOKED = "revoked"
REASON_INCOMPLETE = "incomplete"
REASON_AMBIGUOUS = "ambiguous"
REASON_BLOCKED = "blocked"
REASON_UNAPPROVED = "unapproved"
REASON_INVALID_TIME = "invalid_time"
REASON_ERROR = "error"
REASON_ANNULLED = "annulled"
ERROR_REASONS = (
    REASON_CANCELED,
    REASON_INVALID,
    REASON_UNPAID,
    REASON_PRODUCT,
    REASON_RULES,
    REASON_REVOKED,
    REASON_INCOMPLETE,
    REASON_ALREADY_REDEEMED,
    REASON_AMBIGUOUS,
    REASON_ERROR,
    REASON_BLOCKED,
    REASON_UNAPPROVED,
    REASON_INVALID_TIME,
    REASON_ANNULLED,
)

checkin_list_items = Table(
    "checkin_list_items",
    Base.metadata,
    Column("checkin_list_id", ForeignKey("checkin_list.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
)

# The gates a list is used at; a list without gates is used at every gate.
checkin_list_gates = Table(
    "checkin_list_gates",
    Base.metadata,
    Column("checkin_list_id", ForeignKey("checkin_list.id", ondelete="CASCADE"), primary_key=True),
    Column("gate_id", ForeignKey("gate.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class CheckinList(Base):
    __tablename__ = "checkin_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(190))
    all_products: Mapped[bool] = mapped_column(Boolean, default=True)
    subevent_id: Mapped[int | None] = mapped_column(
        ForeignKey("subevent.id", ondelete="CASCADE"), nullable=True, index=True
    )
    include_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_multiple_entries: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_entry_after_exit: Mapped[bool] = mapped_column(Boolean, default=True)
    # The custom rule (JSON-logic dialect, see boxoffice.kernel.checkin.rules); empty means no rule.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exit_all_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    addon_match: Mapped[bool] = mapped_column(Boolean, default=False)
    ignore_in_statistics: Mapped[bool] = mapped_column(Boolean, default=False)
    consider_tickets_used: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    event: Mapped[Event] = relationship()
    limit_products: Mapped[list[Item]] = relationship(secondary=checkin_list_items, order_by=Item.id)
    gates: Mapped[list[Gate]] = relationship(secondary=checkin_list_gates, order_by=Gate.id)


class Checkin(Base):
    """One scan on a list: a successful entry or exit, or a refused scan with its reason."""

    __tablename__ = "checkin"
    __table_args__ = (
        # The redeem path asks "what happened to this ticket on this list", newest last.
        Index("ix_checkin_position_list", "position_id", "list_id", "datetime"),
        Index("ix_checkin_list_created", "list_id", "created"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("checkin_list.id", ondelete="CASCADE"))
    # Unknown tickets leave a refused scan without a position.
    position_id: Mapped[int | None] = mapped_column(ForeignKey("order_position.id", ondelete="CASCADE"), nullable=True)
    successful: Mapped[bool] = mapped_column(Boolean, default=True)
    error_reason: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_explanation: Mapped[str | None] = mapped_column(Text, nullable=True)
    type: Mapped[str] = mapped_column(String(10), default=TYPE_ENTRY)
    # When the scan happened (a scanner uploading offline scans sends it); ``created`` is when it reached us.
    datetime: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    auto_checked_in: Mapped[bool] = mapped_column(Boolean, default=False)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    gate_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"), nullable=True)
    # A scanner's retry of the same scan carries the same nonce; it never records a second check-in.
    nonce: Mapped[str | None] = mapped_column(String(190), nullable=True, index=True)
    raw_barcode: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw_source_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    raw_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw_variation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw_subevent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    checkin_list: Mapped[CheckinList] = relationship()

    @property
    def event(self) -> Event:
        """The list's event (the audit log files a check-in under it)."""
        return self.checkin_list.event


# Fields a copied check-in list takes over as they are; products, date, gates and rules are translated.
LIST_COPY_FIELDS = (
    "name",
    "all_products",
    "include_pending",
    "allow_multiple_entries",
    "allow_entry_after_exit",
    "exit_all_at",
    "addon_match",
    "ignore_in_statistics",
    "consider_tickets_used",
)


def _copied_rule(rule: Any, ids: dict[str, dict[int, int]]) -> Any:
    """``rule`` with the product and variation ids of its lookups replaced by their copies' ids."""
    if isinstance(rule, list):
        return [_copied_rule(part, ids) for part in rule]
    if not isinstance(rule, dict):
        return rule
    lookup = rule.get("lookup")
    if isinstance(lookup, list) and len(lookup) >= 2 and lookup[0] in ("product", "variation"):
        mapping = ids["item" if lookup[0] == "product" else "item_variation"]
        try:
            copied = mapping.get(int(lookup[1]))
        except (TypeError, ValueError):
            copied = None
        if copied is not None:
            return {"lookup": [lookup[0], str(copied), *lookup[2:]]}
    return {key: _copied_rule(value, ids) for key, value in rule.items()}


@register_copier(70, "checkin_lists")
def copy_checkin_lists(context: CopyContext) -> None:
    """Copy check-in lists with their products (and rules) translated to the copied products; gates stay when the
    copy belongs to the same organizer; lists of dates that were not copied are left out."""
    session = context.session
    subevent_map = context.ids["subevent"]
    item_map = context.ids["item"]
    same_organizer = context.source.organizer_id == context.target.organizer_id
    sources = session.scalars(
        select(CheckinList).where(CheckinList.event_id == context.source.id).order_by(CheckinList.id)
    ).all()
    for old in sources:
        if old.subevent_id is not None and old.subevent_id not in subevent_map:
            continue
        new = CheckinList(
            event_id=context.target.id,
            subevent_id=subevent_map.get(old.subevent_id) if old.subevent_id is not None else None,
            rules=_copied_rule(old.rules or {}, context.ids),
            **{name: getattr(old, name) for name in LIST_COPY_FIELDS},
        )
        new.limit_products = [
            copied
            for item in old.limit_products
            if item.id in item_map and (copied := session.get(Item, item_map[item.id])) is not None
        ]
        new.gates = list(old.gates) if same_organizer else []
        session.add(new)
        session.flush()
        context.ids["checkin_list"][old.id] = new.id
