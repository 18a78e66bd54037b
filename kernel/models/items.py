"""Products (items) and what hangs off them: variations, add-ons, bundles, program times, pictures, and the
event-level item meta properties whose values items and variations carry.

Categories, tax rules, quotas and sales channels belong to other areas: they are referenced by foreign key to their
table name only (no ORM relationship), so this module never depends on their classes.

Meta values are stored as ``{"<property id>": "<value>"}`` so that renaming a property keeps its values.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.clock import now
from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base, UTCDateTime
from boxoffice.kernel.models.core import Event


class Item(Base):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_category.id", ondelete="SET NULL"), nullable=True, index=True
    )
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    internal_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    all_sales_channels: Mapped[bool] = mapped_column(Boolean, default=True)
    limit_sales_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    default_price: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))
    free_price: Mapped[bool] = mapped_column(Boolean, default=False)
    free_price_suggestion: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    tax_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("tax_rule.id", ondelete="SET NULL"), nullable=True, index=True
    )
    admission: Mapped[bool] = mapped_column(Boolean, default=True)
    personalized: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # File name of the current picture (content digest + extension; the bytes live in ``item_picture``). It is
    # part of the picture URL, so a new picture gets a new URL and old URLs stop answering.
    picture_file: Mapped[str | None] = mapped_column(String(64), nullable=True)
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    available_from_mode: Mapped[str] = mapped_column(String(10), default="hide")
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    available_until_mode: Mapped[str] = mapped_column(String(10), default="hide")
    hidden_if_available_id: Mapped[int | None] = mapped_column(
        ForeignKey("quota.id", ondelete="SET NULL"), nullable=True
    )
    hidden_if_item_available_id: Mapped[int | None] = mapped_column(
        ForeignKey("item.id", ondelete="SET NULL"), nullable=True
    )
    hidden_if_item_available_mode: Mapped[str] = mapped_column(String(10), default="hide")
    require_voucher: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_without_voucher: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_cancel: Mapped[bool] = mapped_column(Boolean, default=True)
    min_per_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_per_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checkin_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    checkin_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    original_price: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    require_bundling: Mapped[bool] = mapped_column(Boolean, default=False)
    require_membership: Mapped[bool] = mapped_column(Boolean, default=False)
    require_membership_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    require_membership_types: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Membership types are organizer-level objects of a later issue; the id is kept without a constraint.
    grant_membership_type: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grant_membership_duration_like_event: Mapped[bool] = mapped_column(Boolean, default=True)
    grant_membership_duration_days: Mapped[int] = mapped_column(Integer, default=0)
    grant_membership_duration_months: Mapped[int] = mapped_column(Integer, default=0)
    validity_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    validity_fixed_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    validity_fixed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    validity_dynamic_duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    validity_dynamic_duration_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    validity_dynamic_duration_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    validity_dynamic_duration_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    validity_dynamic_start_choice: Mapped[bool] = mapped_column(Boolean, default=False)
    validity_dynamic_start_choice_day_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # None: the usual rules decide whether tickets are issued.
    generate_tickets: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    allow_waitinglist: Mapped[bool] = mapped_column(Boolean, default=True)
    issue_giftcard: Mapped[bool] = mapped_column(Boolean, default=False)
    media_policy: Mapped[str | None] = mapped_column(String(16), nullable=True)
    media_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    show_quota_left: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Fixed when the item is created: an item either always or never has variations.
    has_variations: Mapped[bool] = mapped_column(Boolean, default=False)
    meta_data: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    event: Mapped[Event] = relationship(back_populates="items")
    variations: Mapped[list[ItemVariation]] = relationship(
        back_populates="item",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ItemVariation.position, ItemVariation.id)",
    )
    addons: Mapped[list[ItemAddOn]] = relationship(
        back_populates="base_item",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ItemAddOn.position, ItemAddOn.id)",
    )
    bundles: Mapped[list[ItemBundle]] = relationship(
        back_populates="base_item",
        cascade="all, delete-orphan",
        passive_deletes=True,
        foreign_keys="ItemBundle.base_item_id",
        order_by="ItemBundle.id",
    )
    program_times: Mapped[list[ItemProgramTime]] = relationship(
        back_populates="item",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ItemProgramTime.start, ItemProgramTime.id)",
    )


class ItemVariation(Base):
    __tablename__ = "item_variation"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    value: Mapped[dict[str, str]] = mapped_column(JSON)
    # None: the item's default price applies.
    default_price: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    free_price_suggestion: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    original_price: Mapped[Decimal | None] = mapped_column(Numeric(13, 2), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    checkin_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    checkin_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    require_membership: Mapped[bool] = mapped_column(Boolean, default=False)
    require_membership_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    require_membership_types: Mapped[list[int]] = mapped_column(JSON, default=list)
    all_sales_channels: Mapped[bool] = mapped_column(Boolean, default=True)
    limit_sales_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    available_from_mode: Mapped[str] = mapped_column(String(10), default="hide")
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    available_until_mode: Mapped[str] = mapped_column(String(10), default="hide")
    hide_without_voucher: Mapped[bool] = mapped_column(Boolean, default=False)
    meta_data: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    item: Mapped[Item] = relationship(back_populates="variations")

    @property
    def event(self) -> Event:
        return self.item.event


class ItemAddOn(Base):
    """An add-on slot: buyers of the base item may pick products of ``addon_category``."""

    __tablename__ = "item_addon"
    __table_args__ = (UniqueConstraint("base_item_id", "addon_category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    base_item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    addon_category_id: Mapped[int] = mapped_column(ForeignKey("item_category.id", ondelete="CASCADE"), index=True)
    min_count: Mapped[int] = mapped_column(Integer, default=0)
    max_count: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    multi_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    price_included: Mapped[bool] = mapped_column(Boolean, default=False)

    base_item: Mapped[Item] = relationship(back_populates="addons")

    @property
    def event(self) -> Event:
        return self.base_item.event


class ItemBundle(Base):
    """Another product (optionally one variation of it) that comes included with the base item."""

    __tablename__ = "item_bundle"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    bundled_item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    bundled_variation_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_variation.id", ondelete="CASCADE"), nullable=True, index=True
    )
    count: Mapped[int] = mapped_column(Integer, default=1)
    # Part of the base price attributed to the bundled product (e.g. to split taxes); never charged on top.
    designated_price: Mapped[Decimal] = mapped_column(Numeric(13, 2), default=Decimal("0.00"))

    base_item: Mapped[Item] = relationship(back_populates="bundles", foreign_keys=[base_item_id])

    @property
    def event(self) -> Event:
        return self.base_item.event


class ItemProgramTime(Base):
    """A schedule slot of a product, independent of the event's own dates (not used in event series)."""

    __tablename__ = "item_program_time"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)

    item: Mapped[Item] = relationship(back_populates="program_times")


class ItemPicture(Base):
    """The picture of an item; kept apart so that loading items never loads image bytes."""

    __tablename__ = "item_picture"

    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    file: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ItemMetaProperty(Base):
    """An event-level meta attribute every item can carry (e.g. an accounting key)."""

    __tablename__ = "item_meta_property"
    __table_args__ = (UniqueConstraint("event_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    default: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # None: free text.
    allowed_values: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    event: Mapped[Event] = relationship()


# --- copying an event -----------------------------------------------------------------------------------------


def _columns(row: Base, *skip: str) -> dict[str, Any]:
    """The column values of ``row`` except the primary key and ``skip`` (lists and dicts copied, not shared)."""
    values: dict[str, Any] = {}
    for column in type(row).__table__.columns:  # type: ignore[attr-defined]
        if column.primary_key or column.key in skip:
            continue
        value = getattr(row, column.key)
        values[column.key] = (
            list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
        )
    return values


def _translated_meta(context: CopyContext, meta: dict[str, str] | None) -> dict[str, str]:
    mapping = context.ids["item_meta_property"]
    return {str(mapping[int(key)]): value for key, value in (meta or {}).items() if int(key) in mapping}


@register_copier(5, "item_meta_properties")
def copy_item_meta_properties(context: CopyContext) -> None:
    rows = context.session.scalars(
        select(ItemMetaProperty).where(ItemMetaProperty.event_id == context.source.id).order_by(ItemMetaProperty.id)
    )
    for old in rows:
        new = ItemMetaProperty(**_columns(old, "event_id"), event_id=context.target.id)
        context.session.add(new)
        context.session.flush()
        context.ids["item_meta_property"][old.id] = new.id


@register_copier(30, "items")
def copy_items(context: CopyContext) -> None:
    session = context.session
    old_items = list(session.scalars(select(Item).where(Item.event_id == context.source.id).order_by(Item.id)))
    copies: list[tuple[Item, Item]] = []
    for old in old_items:
        values = _columns(old, "event_id", "hidden_if_available_id", "hidden_if_item_available_id")
        # Categories and tax rules are copied earlier; a reference that was not copied is dropped, not shared.
        values["category_id"] = context.ids["item_category"].get(old.category_id) if old.category_id else None
        values["tax_rule_id"] = context.ids["tax_rule"].get(old.tax_rule_id) if old.tax_rule_id else None
        values["meta_data"] = _translated_meta(context, old.meta_data)
        new = Item(**values, event_id=context.target.id)
        session.add(new)
        session.flush()
        context.ids["item"][old.id] = new.id
        copies.append((old, new))
        for slot in old.program_times:
            session.add(ItemProgramTime(**_columns(slot, "item_id"), item_id=new.id))
        picture = session.get(ItemPicture, old.id)
        if picture is not None:
            session.add(ItemPicture(**_columns(picture, "item_id"), item_id=new.id))
    for old, new in copies:
        if old.hidden_if_item_available_id is not None:
            new.hidden_if_item_available_id = context.ids["item"].get(old.hidden_if_item_available_id)


@register_copier(35, "item_variations")
def copy_item_variations(context: CopyContext) -> None:
    rows = context.session.scalars(
        select(ItemVariation)
        .join(Item, Item.id == ItemVariation.item_id)
        .where(Item.event_id == context.source.id)
        .order_by(ItemVariation.id)
    )
    for old in rows:
        values = _columns(old, "item_id")
        values["meta_data"] = _translated_meta(context, old.meta_data)
        new = ItemVariation(**values, item_id=context.ids["item"][old.item_id])
        context.session.add(new)
        context.session.flush()
        context.ids["item_variation"][old.id] = new.id


@register_copier(40, "item_addons_and_bundles")
def copy_item_addons_and_bundles(context: CopyContext) -> None:
    session = context.session
    addons = session.scalars(
        select(ItemAddOn)
        .join(Item, Item.id == ItemAddOn.base_item_id)
        .where(Item.event_id == context.source.id)
        .order_by(ItemAddOn.id)
    )
    for addon in addons:
        category = context.ids["item_category"].get(addon.addon_category_id)
        if category is None:
            continue
        values = _columns(addon, "base_item_id", "addon_category_id")
        session.add(
            ItemAddOn(**values, base_item_id=context.ids["item"][addon.base_item_id], addon_category_id=category)
        )
    bundles = session.scalars(
        select(ItemBundle)
        .join(Item, Item.id == ItemBundle.base_item_id)
        .where(Item.event_id == context.source.id)
        .order_by(ItemBundle.id)
    )
    for bundle in bundles:
        variation = bundle.bundled_variation_id
        session.add(
            ItemBundle(
                base_item_id=context.ids["item"][bundle.base_item_id],
                bundled_item_id=context.ids["item"][bundle.bundled_item_id],
                bundled_variation_id=context.ids["item_variation"][variation] if variation is not None else None,
                count=bundle.count,
                designated_price=bundle.designated_price,
            )
        )


@register_copier(65, "item_hidden_if_available")
def copy_item_hidden_if_available(context: CopyContext) -> None:
    """Quotas are copied after items, so the quota an item's visibility depends on is linked up afterwards."""
    old_items = context.session.scalars(
        select(Item).where(Item.event_id == context.source.id, Item.hidden_if_available_id.isnot(None))
    )
    for old in old_items:
        new = context.session.get(Item, context.ids["item"][old.id])
        if new is not None and old.hidden_if_available_id is not None:
            new.hidden_if_available_id = context.ids["quota"].get(old.hidden_if_available_id)
