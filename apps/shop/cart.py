"""The buyer's cart: cart positions reserved through the kernel (``create_cart_position``), under a random cart id
kept in the buyer's web session.

Reserving goes through the kernel's cart service, so carts from the shop count against quotas exactly like the
API's carts and orders (no overselling). The shop adds the buyer's rules on top: only what the event page offers,
at the catalog's gross price, within the per-product and per-order limits. Adding products renews the reservation
of the whole cart (pretix does the same), so the countdown always shows one moment for everything.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from boxoffice.apps.shop.catalog import NOT_YET, SOLD_OUT, Offer, Storefront, product_label, products_of
from boxoffice.kernel.i18n import format_datetime, localize
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import CartPosition
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders.carts import create_cart_position, delete_cart_position
from boxoffice.kernel.orders.drafts import CartDraft
from boxoffice.kernel.orders.errors import OrderError

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.settings import Settings

SESSION_KEY = "shop_cart"
MAX_FIELD_QUANTITY = 1000


class ShopError(Exception):
    """Something the buyer asked for cannot be done; ``messages`` are translated and meant for the buyer."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def new_cart_id() -> str:
    # token_urlsafe never contains "@", so a shop cart id can never look like an API cart id ("…@api").
    return secrets.token_urlsafe(32)


@dataclass
class CartLine:
    position: CartPosition
    item: Item
    variation: ItemVariation | None
    voucher_code: str | None = None
    # The date of an event series this position is for, as the buyer reads it.
    date_label: str | None = None

    @property
    def price(self) -> Decimal:
        return Decimal(self.position.price)


@dataclass
class Cart:
    cart_id: str
    lines: list[CartLine]
    now: datetime

    @property
    def total(self) -> Decimal:
        return sum((line.price for line in self.lines), Decimal("0.00"))

    @property
    def expires(self) -> datetime | None:
        """When the reservation ends (the earliest position's end), ``None`` for an empty cart."""
        return min((line.position.expires for line in self.lines), default=None)

    @property
    def expired(self) -> bool:
        expires = self.expires
        return expires is not None and expires <= self.now

    @property
    def seconds_left(self) -> int:
        expires = self.expires
        return max(int((expires - self.now).total_seconds()), 0) if expires is not None else 0

    def count_of(self, item_id: int) -> int:
        # Per-order limits count a product over all dates, as they do in the order.
        return sum(1 for line in self.lines if line.item.id == item_id)


def load_cart(session: Session, event: Event, cart_id: str | None, now: datetime) -> Cart:
    """The cart's positions with their products (three queries at most, whatever the cart holds)."""
    if not cart_id:
        return Cart("", [], now)
    positions = list(
        session.scalars(
            select(CartPosition)
            .where(
                CartPosition.event_id == event.id, CartPosition.cart_id == cart_id, CartPosition.addon_to_id.is_(None)
            )
            .order_by(CartPosition.id)
        )
    )
    if not positions:
        return Cart(cart_id, [], now)
    items, variations = products_of(session, positions)
    voucher_ids = {p.voucher_id for p in positions if p.voucher_id is not None}
    codes = (
        dict(session.execute(select(Voucher.id, Voucher.code).where(Voucher.id.in_(voucher_ids))).all())
        if voucher_ids
        else {}
    )
    date_ids = {p.subevent_id for p in positions if p.subevent_id is not None}
    dates: dict[int, str] = {}
    if date_ids:
        for date in session.scalars(select(SubEvent).where(SubEvent.id.in_(date_ids))):
            when = format_datetime(date.date_from, timezone=event.timezone, format="short")
            dates[date.id] = f"{localize(date.name)}, {when}"
    lines = [
        CartLine(
            p,
            items[p.item_id],
            variations.get(p.variation_id) if p.variation_id is not None else None,
            codes.get(p.voucher_id) if p.voucher_id is not None else None,
            dates.get(p.subevent_id) if p.subevent_id is not None else None,
        )
        for p in positions
    ]
    return Cart(cart_id, lines, now)


def wanted_quantities(form: Mapping[str, str], storefront: Storefront) -> list[tuple[Offer, int]]:
    """The quantities asked for in the event page's form (fields named like :attr:`Offer.field_name`)."""
    wanted: list[tuple[Offer, int]] = []
    problems: list[str] = []
    for offer in storefront.offers.values():
        raw = (form.get(offer.field_name) or "").strip()
        if not raw:
            continue
        try:
            count = int(raw)
        except ValueError:
            problems.append(_("Please enter a whole number of tickets."))
            continue
        if count < 0 or count > MAX_FIELD_QUANTITY:
            problems.append(_("Please enter a whole number of tickets."))
            continue
        if count:
            wanted.append((offer, count))
    if problems:
        raise ShopError(*sorted(set(problems)))
    if not wanted:
        raise ShopError(_("You did not select any products."))
    return wanted


def offer_name(offer: Offer) -> str:
    return product_label(offer.item, offer.variation)


def add_to_cart(
    kernel: Kernel,
    session: Session,
    settings: Settings,
    storefront: Storefront,
    cart: Cart,
    wanted: list[tuple[Offer, int]],
    now: datetime,
) -> datetime:
    """Reserve ``wanted`` in ``cart`` and renew the reservation of everything in it; returns its new end.

    Raises :class:`ShopError` (nothing is reserved then; the caller rolls back) when the shop is closed, a product
    is not for sale, a limit is exceeded or a quota cannot take the units.
    """
    if storefront.presale_problem is not None:
        raise ShopError(_("Tickets for this event cannot be bought at the moment."))
    problems: list[str] = []
    per_item: Counter[int] = Counter()
    for offer, count in wanted:
        per_item[offer.item.id] += count
        name = offer_name(offer)
        if offer.problem == SOLD_OUT:
            problems.append(_("%(product)s is sold out.") % {"product": name})
        elif offer.problem == NOT_YET:
            problems.append(_("%(product)s is not on sale yet.") % {"product": name})
        elif offer.problem is not None:
            problems.append(_("%(product)s is not available.") % {"product": name})
        elif (offer.left is not None and count > offer.left) or count > offer.max_quantity:
            problems.append(
                _("Only %(count)s of %(product)s can be added to your cart.")
                % {"count": offer.max_quantity, "product": name}
            )
    order_limit = int(settings.get("max_items_per_order"))
    if len(cart.lines) + sum(per_item.values()) > order_limit:
        problems.append(_("You cannot buy more than %(count)s tickets in one order.") % {"count": order_limit})
    for offer, _count in wanted:
        item = offer.item
        in_cart = cart.count_of(item.id) + per_item[item.id]
        if item.max_per_order and in_cart > item.max_per_order:
            problems.append(
                _("You cannot buy more than %(count)s of %(product)s in one order.")
                % {"count": item.max_per_order, "product": offer_name(offer)}
            )
        if item.min_per_order and in_cart < item.min_per_order:
            problems.append(
                _("You need to buy at least %(count)s of %(product)s.")
                % {"count": item.min_per_order, "product": offer_name(offer)}
            )
    if problems:
        raise ShopError(*dict.fromkeys(problems))

    expires = now + timedelta(minutes=int(settings.get("reservation_time")))
    for offer, count in wanted:
        for _unit in range(count):
            draft = CartDraft(
                item=offer.item.id,
                variation=offer.variation.id if offer.variation else None,
                price=offer.price,
                cart_id=cart.cart_id,
                expires=expires,
                sales_channel="web",
                voucher=offer.voucher.code if offer.voucher is not None else None,
                subevent=storefront.subevent.id if storefront.subevent is not None else None,
            )
            try:
                create_cart_position(kernel, session, storefront.event, draft, shop_cart=True)
            except OrderError as problem:
                if problem.errors and "voucher" in problem.errors:
                    raise ShopError(_("This voucher cannot be used for this many products.")) from None
                raise ShopError(
                    _("Not enough tickets of %(product)s are left to add them to your cart.")
                    % {"product": offer_name(offer)}
                ) from None
    # Only live positions: an expired one no longer holds its unit, so renewing it would sell past the quota.
    session.execute(
        update(CartPosition)
        .where(
            CartPosition.event_id == storefront.event.id,
            CartPosition.cart_id == cart.cart_id,
            CartPosition.expires > now,
        )
        .values(expires=expires)
        .execution_options(synchronize_session=False)
    )
    return expires


def remove_from_cart(session: Session, event: Event, cart_id: str, position_id: int) -> bool:
    """Release one position of the buyer's cart (with its add-ons); ``False`` when it is not theirs (any more)."""
    position = session.scalar(
        select(CartPosition).where(
            CartPosition.id == position_id, CartPosition.event_id == event.id, CartPosition.cart_id == cart_id
        )
    )
    if position is None:
        return False
    delete_cart_position(session, position)
    return True


def empty_cart(session: Session, event: Event, cart_id: str) -> None:
    for position in session.scalars(
        select(CartPosition).where(
            CartPosition.event_id == event.id, CartPosition.cart_id == cart_id, CartPosition.addon_to_id.is_(None)
        )
    ):
        delete_cart_position(session, position)
