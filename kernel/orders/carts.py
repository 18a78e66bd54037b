"""Cart positions: products reserved for a buyer who has not ordered yet.

A cart position counts against its quotas until it ``expires`` (or is deleted, or consumed by the order that buys
it: ``consume_carts`` when placing an order). Carts take capacity exactly like orders do
(:mod:`boxoffice.kernel.orders.quotas`): a lock-free pre-check, then the rows are written, then the touched quota
rows are locked and counted again — so carts never oversell, and neither do orders competing with them.

Vouchers on carts: a cart position holding a voucher *reserves* one use of it but does not redeem it —
``Voucher.redeemed`` only counts positions of orders holding quota. A voucher therefore admits a new cart position
only while ``redeemed`` plus its live (unexpired) cart positions stay within ``max_usages``; that count is taken
after the rows are written, under a lock on the voucher row, so two carts cannot both take its last use. A cart
position on a quota-blocking voucher takes no extra quota: the voucher already blocks that unit (the availability
module leaves such cart positions out of the quota count).

The API's cart interface is a trusted one, like order creation: prices are taken as sent, sale windows, add-on
rules and voucher-only products are not checked. Quotas, vouchers and answers are.
"""

from __future__ import annotations

import secrets
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from boxoffice.kernel import clock
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import CartPosition, QuestionAnswer
from boxoffice.kernel.models.saleschannels import BUILTIN_CHANNELS, SalesChannel
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import quotas
from boxoffice.kernel.orders.answers import AnswerProblem, load_questions, normalise_answer
from boxoffice.kernel.orders.drafts import CartDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.placement import clock_utc, format_name, load_vouchers, name_parts, voucher_problem
from boxoffice.kernel.orders.pricing import round_money

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

API_SUFFIX = "@api"
CART_ID_LENGTH = 48
CART_ID_MAX = 255
# Numeric(13, 2): eleven digits before the point.
PRICE_LIMIT = Decimal(10) ** 11
MAX_BULK = 1000
NON_FIELD = "non_field_errors"
_CART_ID_ALPHABET = string.ascii_letters + string.digits


def new_cart_id() -> str:
    """A fresh random cart id of the API's kind (``…@api``)."""
    return "".join(secrets.choice(_CART_ID_ALPHABET) for _ in range(CART_ID_LENGTH)) + API_SUFFIX


def is_api_cart(cart_id: str) -> bool:
    """Only carts created through the API are visible to (and changeable through) the API."""
    return cart_id.endswith(API_SUFFIX)


@dataclass
class _Line:
    """One cart position being created (the main position, an add-on or a bundled position)."""

    draft: CartDraft
    item: Item
    variation: ItemVariation | None
    subevent_id: int | None
    voucher: Voucher | None
    price: Decimal
    parent: _Line | None = None
    is_bundled: bool = False
    answers: list[tuple[int, str, list[int]]] = field(default_factory=list)
    row: CartPosition | None = None

    @property
    def key(self) -> quotas.ProductKey:
        return (self.item.id, self.variation.id if self.variation else None, self.subevent_id)

    @property
    def ignores_quota(self) -> bool:
        return self.voucher is not None and self.voucher.allow_ignore_quota

    @property
    def uses_blocking_voucher(self) -> bool:
        return self.voucher is not None and self.voucher.block_quota and not self.ignores_quota


@dataclass
class CreatedCart:
    """A created cart position with the add-ons and bundled positions created along with it."""

    position: CartPosition
    addons: list[CartPosition]
    bundled: list[CartPosition]


def create_cart_position(
    kernel: Kernel, session: Session, event: Event, draft: CartDraft, *, shop_cart: bool = False
) -> CreatedCart:
    """Reserve the product described by ``draft`` (with its nested ``addons`` and ``bundled`` positions).

    ``shop_cart``: the caller is the shop, whose cart ids (its buyers' carts) must *not* end in ``@api`` so the API
    never sees or changes them; API cart ids must end in ``@api``.

    Raises :class:`OrderError` — field errors shaped like the input, or ``non_field_errors`` for a sold-out
    quota — and the caller's transaction must then be rolled back.
    """
    now = clock.now()
    cart_id = draft.cart_id if draft.cart_id is not None else new_cart_id()
    if draft.expires is not None:
        try:
            expires = clock_utc(draft.expires)
        except (OverflowError, ValueError):
            raise OrderError.field("expires", "Datetime is out of the supported range.") from None
    else:
        minutes = int(kernel.settings_for(session, event=event).get("reservation_time"))
        expires = now + timedelta(minutes=minutes)
    lines = _resolve(session, event, draft, shop_cart=shop_cart)
    # Like orders: a voucher allowed to ignore quotas takes none; a blocking voucher already holds its unit.
    keys_taking_quota = [line.key for line in lines if not line.uses_blocking_voucher and not line.ignores_quota]
    try:
        quota_ids = quotas.check_capacity(session, event.id, keys_taking_quota)
        # A blocking voucher's unit is already counted by the voucher, but its product must still be for sale.
        blocking = [line.key for line in lines if line.uses_blocking_voucher]
        by_product = quotas.quotas_by_product(session, event.id, blocking)
        for key in blocking:
            if not by_product.get(key):
                raise quotas.NoQuota(0)
            quota_ids.extend(quota.id for quota in by_product[key])
    except quotas.NoQuota as problem:
        raise OrderError.field("item", problem.detail) from None
    except quotas.QuotaExceeded as problem:
        raise OrderError.field(NON_FIELD, problem.detail) from None

    for line in lines:
        parts = name_parts(line.draft.attendee_name, line.draft.attendee_name_parts)
        line.row = CartPosition(
            event_id=event.id,
            cart_id=cart_id,
            datetime=now,
            expires=expires,
            item_id=line.item.id,
            variation_id=line.variation.id if line.variation else None,
            subevent_id=line.subevent_id,
            price=line.price,
            attendee_name_parts=parts,
            attendee_email=line.draft.attendee_email or None,
            voucher_id=line.voucher.id if line.voucher else None,
            is_bundled=line.is_bundled,
            sales_channel=draft.sales_channel,
        )
    session.add_all([line.row for line in lines if line.row is not None])
    session.flush()
    for line in lines:
        assert line.row is not None
        if line.parent is not None:
            assert line.parent.row is not None
            line.row.addon_to_id = line.parent.row.id
        for question_id, text, options in line.answers:
            session.add(
                QuestionAnswer(cartposition_id=line.row.id, question_id=question_id, answer=text, option_ids=options)
            )
    session.flush()
    _hold_vouchers(session, lines, now)
    # Last: lock the quotas and count again with these rows in place (vouchers were locked first, as when
    # placing an order, so the two never wait for each other in opposite order).
    try:
        quotas.verify(session, quota_ids)
    except quotas.QuotaExceeded as problem:
        raise OrderError.field(NON_FIELD, problem.detail) from None
    rows = [line.row for line in lines if line.row is not None]
    return CreatedCart(
        position=rows[0],
        addons=[line.row for line in lines if line.row is not None and line.parent and not line.is_bundled],
        bundled=[line.row for line in lines if line.row is not None and line.parent and line.is_bundled],
    )


def create_cart_positions(
    kernel: Kernel, session: Session, event: Event, drafts: Sequence[CartDraft | OrderError]
) -> list[CreatedCart | OrderError]:
    """Create several cart positions, each on its own: one that fails (given as or raising :class:`OrderError`)
    leaves the others in place. Each entry is committed before the next one starts: holding one entry's quota
    locks while taking the next entry's voucher locks would invert the lock order buyers use (deadlocks)."""
    results: list[CreatedCart | OrderError] = []
    for draft in drafts:
        if isinstance(draft, OrderError):
            results.append(draft)
            continue
        savepoint = session.begin_nested()
        try:
            created = create_cart_position(kernel, session, event, draft)
        except OrderError as problem:
            savepoint.rollback()
            results.append(problem)
            continue
        savepoint.commit()
        session.commit()
        results.append(created)
    return results


def delete_cart_position(session: Session, position: CartPosition) -> int:
    """Delete a cart position and the add-ons and bundled positions hanging off it; their quota is free at once.
    Returns the number of rows deleted."""
    family = or_(CartPosition.id == position.id, CartPosition.addon_to_id == position.id)
    doomed = select(CartPosition.id).where(family).scalar_subquery()
    session.execute(delete(QuestionAnswer).where(QuestionAnswer.cartposition_id.in_(doomed)))
    result = session.execute(delete(CartPosition).where(family).execution_options(synchronize_session=False))
    session.expunge(position)
    return result.rowcount or 0


def delete_expired_carts(context: Any) -> int:
    """Periodic job: delete cart positions whose reservation has run out (they no longer count against quotas
    anyway; this keeps the table small). Returns the number of rows deleted.

    Add-ons and bundled positions expire with their parent; answers go with their position (the foreign keys
    cascade).
    """
    with context.session() as session:
        moment = clock.now()
        expired = select(CartPosition.id).where(CartPosition.expires <= moment)
        session.execute(delete(QuestionAnswer).where(QuestionAnswer.cartposition_id.in_(expired)))
        # Nested positions first, so that the count does not depend on whether the backend reports cascades.
        nested = session.execute(
            delete(CartPosition).where(CartPosition.expires <= moment, CartPosition.addon_to_id.is_not(None))
        )
        main = session.execute(delete(CartPosition).where(CartPosition.expires <= moment))
        return (nested.rowcount or 0) + (main.rowcount or 0)


def answers_by_position(session: Session, position_ids: Sequence[int]) -> dict[int, list[QuestionAnswer]]:
    """The stored answers of these cart positions, in one query."""
    found: dict[int, list[QuestionAnswer]] = {position_id: [] for position_id in position_ids}
    if position_ids:
        for answer in session.scalars(
            select(QuestionAnswer).where(QuestionAnswer.cartposition_id.in_(position_ids)).order_by(QuestionAnswer.id)
        ):
            assert answer.cartposition_id is not None
            found[answer.cartposition_id].append(answer)
    return found


def attendee_name(position: CartPosition) -> str | None:
    return format_name(position.attendee_name_parts)


# --- checking the draft ------------------------------------------------------------------------------------------


def _resolve(session: Session, event: Event, draft: CartDraft, *, shop_cart: bool = False) -> list[_Line]:
    """The draft and its nested positions, checked against the catalog; all problems raised at once."""
    drafts: list[tuple[CartDraft, CartDraft | None, bool, int]] = [(draft, None, False, 0)]
    drafts += [(child, draft, False, index) for index, child in enumerate(draft.addons)]
    drafts += [(child, draft, True, index) for index, child in enumerate(draft.bundled)]
    everything = [entry[0] for entry in drafts]

    items = {
        item.id: item
        for item in session.scalars(
            select(Item).where(Item.event_id == event.id, Item.id.in_({d.item for d in everything}))
        )
    }
    variation_ids = {d.variation for d in everything if d.variation is not None}
    variations = (
        {v.id: v for v in session.scalars(select(ItemVariation).where(ItemVariation.id.in_(variation_ids)))}
        if variation_ids
        else {}
    )
    subevent_ids = {d.subevent for d in everything if d.subevent is not None}
    subevents = (
        set(session.scalars(select(SubEvent.id).where(SubEvent.event_id == event.id, SubEvent.id.in_(subevent_ids))))
        if subevent_ids
        else set()
    )
    vouchers = load_vouchers(session, event, [d.voucher for d in everything if d.voucher])
    questions = load_questions(session, event.id, [a.question for d in everything for a in d.answers])

    top: dict[str, list[str]] = {}
    nested: dict[str, list[dict[str, list[str]]]] = {
        "addons": [{} for _ in draft.addons],
        "bundled": [{} for _ in draft.bundled],
    }

    def errors_of(parent: CartDraft | None, bundled: bool, index: int) -> dict[str, list[str]]:
        if parent is None:
            return top
        return nested["bundled" if bundled else "addons"][index]

    if shop_cart:
        if not draft.cart_id or is_api_cart(draft.cart_id) or len(draft.cart_id) > CART_ID_MAX:
            top.setdefault("cart_id", []).append('A shop cart needs an id of its own that does not end in "@api".')
    elif draft.cart_id is not None:
        if not is_api_cart(draft.cart_id):
            top.setdefault("cart_id", []).append('Cart ID should end in "@api" or be empty.')
        elif len(draft.cart_id) > CART_ID_MAX:
            top.setdefault("cart_id", []).append(f"Ensure this field has no more than {CART_ID_MAX} characters.")
    if draft.sales_channel not in BUILTIN_CHANNELS and (
        session.scalar(
            select(SalesChannel.id).where(
                SalesChannel.organizer_id == event.organizer_id, SalesChannel.identifier == draft.sales_channel
            )
        )
        is None
    ):
        top.setdefault("sales_channel", []).append(f'Unknown sales channel "{draft.sales_channel}".')

    lines: list[_Line] = []
    main: _Line | None = None
    for current, parent, bundled, index in drafts:
        problems = errors_of(parent, bundled, index)

        def fail(name: str, message: str, problems: dict[str, list[str]] = problems) -> None:
            problems.setdefault(name, []).append(message)

        if parent is not None:
            if current.addons or current.bundled:
                fail("addons", "Nested positions cannot have add-ons or bundled positions of their own.")
            for name in ("cart_id", "expires"):
                if getattr(current, name) is not None and getattr(current, name) != getattr(parent, name):
                    fail(name, "Nested positions belong to the cart of their parent position.")
            if current.subevent is not None and current.subevent != parent.subevent:
                fail("subevent", "Nested positions must be for the same date as their parent position.")
        subevent_id = current.subevent if parent is None else parent.subevent
        item = items.get(current.item)
        if item is None:
            fail("item", f'Invalid pk "{current.item}" - object does not exist.')
            continue
        variation = variations.get(current.variation) if current.variation is not None else None
        if current.variation is not None and (variation is None or variation.item_id != item.id):
            fail("variation", "You cannot specify a variation that does not belong to the item.")
            continue
        if item.has_variations and variation is None:
            fail("variation", "You should specify a variation for this item.")
            continue
        if parent is None:
            if event.has_subevents:
                if subevent_id is None:
                    fail("subevent", "You need to set a subevent.")
                    continue
                if subevent_id not in subevents:
                    fail("subevent", f'Invalid pk "{subevent_id}" - object does not exist.')
                    continue
            elif subevent_id is not None:
                fail("subevent", "You cannot set a subevent for this event.")
                continue
        if current.seat is not None:
            fail("seat", "The event has no seating plan.")
        if current.attendee_name and current.attendee_name_parts:
            fail("attendee_name", "Do not specify attendee_name if you specified attendee_name_parts.")
        if current.attendee_email and ("@" not in current.attendee_email or len(current.attendee_email) > 254):
            fail("attendee_email", "Enter a valid email address.")
        price = Decimal(current.price)
        if not price.is_finite() or price < 0:
            fail("price", "Ensure this value is greater than or equal to 0.")
            continue
        if price >= PRICE_LIMIT:
            fail("price", "Ensure that there are no more than 11 digits before the decimal point.")
            continue
        voucher = None
        if current.voucher:
            voucher = vouchers.get(current.voucher.upper())
            problem = voucher_problem(session, voucher, item, variation, subevent_id)
            if problem:
                fail("voucher", problem)
                continue
        line = _Line(current, item, variation, subevent_id, voucher, round_money(price), is_bundled=bundled)
        for answer in current.answers:
            question = questions.get(answer.question)
            if question is None:
                fail("answers", f'Invalid pk "{answer.question}" - object does not exist.')
                continue
            try:
                text, options = normalise_answer(question, answer)
            except AnswerProblem as refused:
                fail("answers", str(refused))
                continue
            line.answers.append((question.id, text, options))
        if parent is None:
            main = line
        else:
            line.parent = main
        lines.append(line)

    errors: dict[str, Any] = dict(top)
    for name, entries in nested.items():
        if any(entries):
            errors[name] = entries
    if errors:
        raise OrderError(errors=errors)
    return lines


def _hold_vouchers(session: Session, lines: Sequence[_Line], now: datetime) -> None:
    """Make sure no voucher is now held by more cart positions than it has uses left: lock each voucher row (in id
    order) and count its live cart positions, these rows included, on top of its redemptions."""
    uses = Counter(line.voucher.id for line in lines if line.voucher is not None)
    for voucher_id in sorted(uses):
        # NO KEY UPDATE: the cart rows just written hold KEY SHARE locks on the voucher through their foreign key;
        # a plain FOR UPDATE would wait for those of concurrent buyers while they wait for ours (deadlock).
        locked = select(Voucher).where(Voucher.id == voucher_id).with_for_update(key_share=True)
        voucher = session.scalar(locked.execution_options(populate_existing=True))
        assert voucher is not None
        held = session.scalar(
            select(func.count())
            .select_from(CartPosition)
            .where(CartPosition.voucher_id == voucher_id, CartPosition.expires > now)
        )
        if voucher.redeemed + (held or 0) > voucher.max_usages:
            raise OrderError.field("voucher", "This voucher has already been redeemed the maximum number of times.")
