"""Tax rules: how tax is calculated for products of an event (rate, tax code, reverse charge, custom rules)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Numeric, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.kernel.copying import CopyContext, register_copier
from boxoffice.kernel.db import Base
from boxoffice.kernel.models.core import Event

# Tax codes follow EN16931 categories (with pretix's sub-codes for standard rates); "E/<VATEX code>" names the
# legal reason of an exemption.
TAX_CODES = frozenset({"S/standard", "S/reduced", "S/averaged", "AE", "O", "E", "Z", "G", "K", "L", "M", "B"})
# EN16931 requires a rate of zero for these categories (BR-AE-05, BR-O-05, BR-E-05, BR-Z-05, BR-G-05, BR-IC-05).
ZERO_RATE_CODES = frozenset({"AE", "O", "E", "Z", "G", "K"})


class TaxRule(Base):
    __tablename__ = "tax_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    internal_name: Mapped[str | None] = mapped_column(String(190), nullable=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    code: Mapped[str | None] = mapped_column(String(190), nullable=True)
    price_includes_tax: Mapped[bool] = mapped_column(Boolean, default=True)
    # The API calls it ``default``; that is a reserved word in SQL, hence the column name.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    eu_reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False)
    home_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    keep_gross_if_rate_changes: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_rules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)

    event: Mapped[Event] = relationship()


COPIED_FIELDS = (
    "name",
    "internal_name",
    "rate",
    "code",
    "price_includes_tax",
    "is_default",
    "eu_reverse_charge",
    "home_country",
    "keep_gross_if_rate_changes",
    "custom_rules",
)


@register_copier(10, "tax_rules")
def copy_tax_rules(context: CopyContext) -> None:
    rules = context.session.scalars(
        select(TaxRule).where(TaxRule.event_id == context.source.id).order_by(TaxRule.id)
    ).all()
    for old in rules:
        new = TaxRule(event_id=context.target.id, **{name: getattr(old, name) for name in COPIED_FIELDS})
        context.session.add(new)
        context.session.flush()
        context.ids["tax_rule"][old.id] = new.id
