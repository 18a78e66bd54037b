"""What the shop offers on an event page: the products a buyer may put into the cart, with gross prices and what is
left of them.

Prices come from the kernel's pricing (``taxed_catalog_price``: net list prices get their tax added) and
availability from the kernel's quota counting (``quotas_by_product`` + ``quota_availabilities``), so the page, the
cart and the order agree. The rules here are the buyer's rules the trusted REST API does not apply: the shop is
published (``live``), the presale period, a product's sale window and sales channels, products that need a voucher
or belong to add-on categories (neither is sold on the event page).

Loading the catalog costs a fixed number of queries whatever the number of products, variations and quotas.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.kernel.availability import QuotaAvailability, QuotaScope, quota_availabilities, quota_scopes
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.categories import ItemCategory
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.quotas import Quota
from boxoffice.kernel.models.subevents import SubEvent, SubEventItem, SubEventItemVariation
from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import quotas as kernel_quotas
from boxoffice.kernel.orders.placement import voucher_problem
from boxoffice.kernel.orders.pricing import taxed_catalog_price, voucher_price

if TYPE_CHECKING:
    from boxoffice.kernel.settings import Settings

SALES_CHANNEL = "web"
# Why a product on the page cannot be bought right now (``None``: it can).
SOLD_OUT = "sold_out"
NOT_YET = "not_yet"
ENDED = "ended"
UNAVAILABLE = "unavailable"
SERIES = "series"
# An event series may have thousands of dates; the page lists the next ones.
MAX_DATES = 200


@dataclass
class Offer:
    """One thing a buyer can pick a quantity of: a product without variations, or one variation of a product."""

    item: Item
    variation: ItemVariation | None
    price: Decimal
    # None: unlimited (or not shown, see ``Storefront.show_quota_left``).
    left: int | None
    problem: str | None
    max_quantity: int
    # Reserved with the storefront's voucher (which then sets the price and may open hidden products).
    voucher: Voucher | None = None

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.item.id, self.variation.id if self.variation else None)

    @property
    def field_name(self) -> str:
        """The form field holding the wanted quantity (``item_<id>`` or ``variation_<item id>_<variation id>``)."""
        if self.variation is None:
            return f"item_{self.item.id}"
        return f"variation_{self.item.id}_{self.variation.id}"


@dataclass
class ProductGroup:
    """A product as shown on the page: its offers (one, or one per variation)."""

    item: Item
    offers: list[Offer]

    @property
    def min_price(self) -> Decimal:
        return min(offer.price for offer in self.offers)

    @property
    def has_variations(self) -> bool:
        return self.item.has_variations


@dataclass
class Section:
    category: ItemCategory | None
    products: list[ProductGroup] = field(default_factory=list)


@dataclass
class Storefront:
    event: Event
    sections: list[Section]
    presale_problem: str | None
    show_quota_left: bool
    voucher: Voucher | None = None
    subevent: SubEvent | None = None

    @property
    def offers(self) -> dict[tuple[int, int | None], Offer]:
        return {offer.key: offer for section in self.sections for group in section.products for offer in group.offers}

    @property
    def is_empty(self) -> bool:
        return not any(section.products for section in self.sections)


def product_label(item: Item, variation: ItemVariation | None) -> str:
    """The product's name in the buyer's language, with the variation after a dash."""
    name = localize(item.name)
    return f"{name} \N{EN DASH} {localize(variation.value)}" if variation is not None else name


def products_of(session: Session, positions: Sequence[Any]) -> tuple[dict[int, Item], dict[int, ItemVariation]]:
    """The products and variations of cart or order positions by id, in one query each."""
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_({p.item_id for p in positions})))}
    variation_ids = {p.variation_id for p in positions if p.variation_id is not None}
    variations = (
        {v.id: v for v in session.scalars(select(ItemVariation).where(ItemVariation.id.in_(variation_ids)))}
        if variation_ids
        else {}
    )
    return items, variations


def sold_on_channel(thing: Item | ItemVariation | Event) -> bool:
    return thing.all_sales_channels or SALES_CHANNEL in (thing.limit_sales_channels or [])


def presale_problem(event: Event, now: datetime, subevent: SubEvent | None = None) -> str | None:
    """Why nothing can be bought right now: ``NOT_YET`` before the presale, ``ENDED`` after it (without an explicit
    end: once the event or date is over), ``SERIES`` for an event series without a chosen date."""
    if event.has_subevents and subevent is None:
        return SERIES
    dated: Event | SubEvent = subevent if subevent is not None else event
    start = dated.presale_start or event.presale_start
    if start is not None and now < start:
        return NOT_YET
    end = dated.presale_end or (event.presale_end if subevent is None else None) or dated.date_to or dated.date_from
    if now >= end:
        return ENDED
    return None


def load_dates(session: Session, event: Event, now: datetime) -> list[SubEvent]:
    """The dates of an event series a buyer can pick: active, public, not over; soonest first."""
    dates = session.scalars(
        select(SubEvent)
        .where(SubEvent.event_id == event.id, SubEvent.active.is_(True), SubEvent.is_public.is_(True))
        .order_by(SubEvent.date_from, SubEvent.id)
    )
    return [date for date in dates if (date.date_to or date.date_from) >= now][:MAX_DATES]


def find_date(session: Session, event: Event, subevent_id: int) -> SubEvent | None:
    """A date of ``event`` buyers may see, or None."""
    if not event.has_subevents or not 0 < subevent_id < 2**31:
        return None
    date = session.get(SubEvent, subevent_id)
    if date is None or date.event_id != event.id or not date.active or not date.is_public:
        return None
    return date


def _window(thing: Item | ItemVariation, now: datetime) -> str | None:
    """Where ``now`` is relative to the sale window: hidden (``"hide"``), or a problem to show, or ``None``."""
    if thing.available_from is not None and now < thing.available_from:
        return "hide" if thing.available_from_mode == "hide" else NOT_YET
    if thing.available_until is not None and now >= thing.available_until:
        return "hide" if thing.available_until_mode == "hide" else ENDED
    return None


def _needs_voucher(thing: Item | ItemVariation) -> bool:
    return bool(getattr(thing, "require_voucher", False) or thing.hide_without_voucher)


def _date_overrides(
    session: Session, subevent: SubEvent | None
) -> tuple[dict[int, SubEventItem], dict[int, SubEventItemVariation]]:
    """A date's own prices, availability and switched-off products (two queries)."""
    if subevent is None:
        return {}, {}
    items = {
        row.item_id: row for row in session.scalars(select(SubEventItem).where(SubEventItem.subevent_id == subevent.id))
    }
    variations = {
        row.variation_id: row
        for row in session.scalars(
            select(SubEventItemVariation).where(SubEventItemVariation.subevent_id == subevent.id)
        )
    }
    return items, variations


def _override_window(row: SubEventItem | SubEventItemVariation | None, now: datetime) -> str | None:
    if row is None:
        return None
    if row.disabled:
        return "hide"
    if row.available_from is not None and now < row.available_from:
        return NOT_YET
    if row.available_until is not None and now >= row.available_until:
        return ENDED
    return None


def load_storefront(
    session: Session,
    settings: Settings,
    event: Event,
    now: datetime,
    voucher: Voucher | None = None,
    subevent: SubEvent | None = None,
) -> Storefront:
    """Everything the event page shows, in a fixed number of queries; with ``voucher`` (a code the buyer redeems)
    the products it is valid for at its price, including those sold only with a voucher."""
    subevent_id = subevent.id if subevent is not None else None
    item_overrides, variation_overrides = _date_overrides(session, subevent)
    voucher_scopes: dict[int, QuotaScope] = {}
    if voucher is not None and voucher.quota_id is not None:
        quota = session.get(Quota, voucher.quota_id)
        voucher_scopes = quota_scopes(session, [quota]) if quota is not None else {}

    def redeemable(item: Item, variation: ItemVariation | None) -> bool:
        if voucher is None:
            return False
        if voucher.quota_id is not None and voucher.quota_id not in voucher_scopes:
            return False
        return not voucher_problem(session, voucher, item, variation, subevent_id, scopes=voucher_scopes)

    def opens(thing: Item | ItemVariation, item: Item, variation: ItemVariation | None) -> bool:
        """Whether a product needing a voucher is shown: only with one valid for it (hidden ones: if it says so)."""
        if not _needs_voucher(thing):
            return True
        if thing.hide_without_voucher and (voucher is None or not voucher.show_hidden_items):
            return False
        return redeemable(item, variation)

    items = list(session.scalars(select(Item).where(Item.event_id == event.id).order_by(Item.position, Item.id)))
    # A plain query rather than the relationship: filling 100s of ORM collections costs more than the query.
    variations_of: dict[int, list[ItemVariation]] = defaultdict(list)
    with_variations = [item.id for item in items if item.has_variations]
    if with_variations:
        for variation in session.scalars(
            select(ItemVariation)
            .where(ItemVariation.item_id.in_(with_variations))
            .order_by(ItemVariation.position, ItemVariation.id)
        ):
            variations_of[variation.item_id].append(variation)
    categories = {
        category.id: category
        for category in session.scalars(select(ItemCategory).where(ItemCategory.event_id == event.id))
    }
    rule_ids = {item.tax_rule_id for item in items if item.tax_rule_id is not None}
    rules = (
        {rule.id: rule for rule in session.scalars(select(TaxRule).where(TaxRule.id.in_(rule_ids)))} if rule_ids else {}
    )
    shown: list[tuple[Item, list[tuple[ItemVariation | None, str | None]]]] = []
    for item in items:
        category = categories.get(item.category_id) if item.category_id is not None else None
        if not item.active or item.require_bundling or not sold_on_channel(item):
            continue
        if category is not None and category.is_addon:
            continue
        if not item.has_variations and not opens(item, item, None):
            continue
        item_window = _override_window(item_overrides.get(item.id), now) or _window(item, now)
        if item_window == "hide":
            continue
        if item.has_variations:
            variants: list[tuple[ItemVariation | None, str | None]] = []
            for variation in variations_of[item.id]:
                if not variation.active or not sold_on_channel(variation):
                    continue
                if not opens(variation, item, variation) or not opens(item, item, variation):
                    continue
                window = _override_window(variation_overrides.get(variation.id), now) or _window(variation, now)
                if window != "hide":
                    variants.append((variation, item_window or window))
            if variants:
                shown.append((item, variants))
        else:
            shown.append((item, [(None, item_window)]))

    keys = [
        (item.id, variation.id if variation else None, subevent_id)
        for item, variants in shown
        for variation, _ in variants
    ]
    by_product = kernel_quotas.quotas_by_product(session, event.id, keys)
    all_quotas: dict[int, Quota] = {quota.id: quota for found in by_product.values() for quota in found}
    availability = quota_availabilities(
        session, list(all_quotas.values()), now=now, scopes=session.info.get(kernel_quotas.SCOPES_KEY)
    )
    order_limit = int(settings.get("max_items_per_order"))
    show_left = bool(settings.get("show_quota_left"))

    sections: dict[int | None, Section] = {}
    for item, variants in shown:
        offers = []
        for variation, window_problem in variants:
            base = _list_price(item, variation, item_overrides, variation_overrides)
            rule = rules.get(item.tax_rule_id) if item.tax_rule_id is not None else None
            with_voucher = voucher if redeemable(item, variation) else None
            price = taxed_catalog_price(voucher_price(with_voucher, base), rule).gross
            key = (item.id, variation.id if variation else None, subevent_id)
            left, problem = _left(by_product.get(key, []), availability)
            # A voucher that skips quotas, or holds its unit in them already, is limited by its own uses only.
            held = with_voucher is not None and with_voucher.block_quota and problem == SOLD_OUT
            if with_voucher is not None and (with_voucher.allow_ignore_quota or held):
                left, problem = None, None
            problem = window_problem or problem
            limit = min(order_limit, item.max_per_order or order_limit)
            if left is not None:
                limit = min(limit, left)
            if with_voucher is not None:
                limit = min(limit, with_voucher.max_usages - with_voucher.redeemed)
            item_shows_left = item.show_quota_left if item.show_quota_left is not None else show_left
            offers.append(
                Offer(
                    item=item,
                    variation=variation,
                    price=price,
                    left=left if item_shows_left else None,
                    problem=problem,
                    max_quantity=0 if problem else max(limit, 0),
                    voucher=with_voucher,
                )
            )
        category_id = item.category_id if item.category_id in categories else None
        if category_id not in sections:
            sections[category_id] = Section(categories.get(category_id) if category_id is not None else None)
        sections[category_id].products.append(ProductGroup(item, offers))
    ordered = sorted(
        sections.values(),
        key=lambda section: (-1, 0) if section.category is None else (section.category.position, section.category.id),
    )
    return Storefront(
        event=event,
        sections=ordered,
        presale_problem=presale_problem(event, now, subevent),
        show_quota_left=show_left,
        voucher=voucher,
        subevent=subevent,
    )


def _list_price(
    item: Item,
    variation: ItemVariation | None,
    item_overrides: dict[int, SubEventItem],
    variation_overrides: dict[int, SubEventItemVariation],
) -> Decimal:
    """The most specific of: the date's variation price, the variation's price, the date's product price, the
    product's price (as order placement prices them)."""
    if variation is not None:
        dated = variation_overrides.get(variation.id)
        if dated is not None and dated.price is not None:
            return Decimal(dated.price)
        if variation.default_price is not None:
            return Decimal(variation.default_price)
    dated_item = item_overrides.get(item.id)
    if dated_item is not None and dated_item.price is not None:
        return Decimal(dated_item.price)
    return Decimal(item.default_price)


def _left(found: Sequence[Quota], availability: dict[int, QuotaAvailability]) -> tuple[int | None, str | None]:
    """Units left of a product (the tightest of its quotas) and, when none, why it cannot be bought."""
    if not found:
        return 0, UNAVAILABLE
    left: int | None = None
    for quota in found:
        counted = availability[quota.id]
        if not counted.available:
            return 0, SOLD_OUT
        if counted.available_number is not None:
            left = counted.available_number if left is None else min(left, counted.available_number)
    if left is not None and left <= 0:
        return 0, SOLD_OUT
    return left, None
