"""Item categories: how an event's products are grouped (and offered for cross-selling)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, insert, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base
from boxoffice.kernel.models.core import Event

CROSS_SELLING_MODES = (None, "only", "both")
CROSS_SELLING_CONDITIONS = (None, "always", "products", "discounts")

# Products whose presence in the cart triggers cross-selling (condition "products"). Items belong to another
# area, so they are referenced by table name only.
item_category_cross_selling = Table(
    "item_category_cross_selling",
    Base.metadata,
    Column("category_id", ForeignKey("item_category.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ItemCategory(Base):
    __tablename__ = "item_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    internal_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_addon: Mapped[bool] = mapped_column(Boolean, default=False)
    cross_selling_mode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    cross_selling_condition: Mapped[str | None] = mapped_column(String(10), nullable=True)

    event: Mapped[Event] = relationship()


COPIED_FIELDS = (
    "name",
    "internal_name",
    "description",
    "position",
    "is_addon",
    "cross_selling_mode",
    "cross_selling_condition",
)


@register_copier(20, "item_categories")
def copy_categories(context: CopyContext) -> None:
    categories = context.session.scalars(
        select(ItemCategory).where(ItemCategory.event_id == context.source.id).order_by(ItemCategory.id)
    ).all()
    for old in categories:
        new = ItemCategory(event_id=context.target.id, **{name: getattr(old, name) for name in COPIED_FIELDS})
        context.session.add(new)
        context.session.flush()
        context.ids["item_category"][old.id] = new.id


@register_copier(31, "item_category_cross_selling")
def copy_cross_selling(context: CopyContext) -> None:
    """Runs after the items are copied: the matched products are translated to the copies."""
    categories = context.ids.get("item_category", {})
    items = context.ids.get("item", {})
    if not categories:
        return
    table = item_category_cross_selling
    rows = context.session.execute(
        select(table.c.category_id, table.c.item_id).where(table.c.category_id.in_(list(categories)))
    ).all()
    values = [
        {"category_id": categories[category_id], "item_id": items[item_id]}
        for category_id, item_id in rows
        if item_id in items
    ]
    if values:
        context.session.execute(insert(table), values)
