"""Placing an order: check the draft against the catalog, price and tax it, write it, and take quota — atomically.

The order is written first and the quotas it needs are locked and re-counted last (see
:mod:`boxoffice.kernel.orders.quotas`), so concurrent buyers of one product serialise only on that product's
quota rows for the length of one count, and an order that would oversell leaves nothing behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import (
    FEE_TYPES,
    STATUS_PAID,
    STATUS_PENDING,
    TAX_ROUNDING_MODES,
    CartPosition,
    InvoiceAddress,
    Order,
    OrderFee,
    OrderPayment,
    OrderPosition,
    QuestionAnswer,
)
from boxoffice.kernel.models.quotas import quota_items
from boxoffice.kernel.models.saleschannels import BUILTIN_CHANNELS, SalesChannel
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import codes, quotas
from boxoffice.kernel.orders.answers import AnswerProblem, load_questions, normalise_answer
from boxoffice.kernel.orders.drafts import FeeDraft, InvoiceAddressDraft, OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.ledger import record_transactions
from boxoffice.kernel.orders.pricing import (
    ZERO,
    Taxed,
    apply_rounding_mode,
    decide,
    round_money,
    taxed_catalog_price,
    taxed_gross,
    untaxed,
    voucher_price,
)
from boxoffice.kernel.orders.providers import payment_providers

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

MAX_POSITIONS = 10_000
PREVIEW_CODE = "PREVIEW"


def format_name(parts: dict[str, str] | None) -> str | None:
    """One display string from structured name parts (``_scheme`` and empty parts left out)."""
    if not parts:
        return None
    text = " ".join(value for key, value in parts.items() if not key.startswith("_") and value)
    return text or parts.get("_legacy") or None


def name_parts(name: str | None, parts: dict[str, str] | None) -> dict[str, str]:
    if parts:
        return dict(parts)
    if name:
        return {"_legacy": name}
    return {}


def end_of_day(event: Event, moment: datetime) -> datetime:
    """23:59:59 of ``moment``'s day in the event's time zone (payment deadlines end with the local day)."""
    try:
        zone = ZoneInfo(event.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return datetime.combine(local.date(), time(23, 59, 59), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def payment_deadline(kernel: Kernel, session: Session, event: Event, start: datetime) -> datetime:
    days = int(kernel.settings_for(session, event=event).get("payment_term_days"))
    return end_of_day(event, start + timedelta(days=days))


@dataclass
class _Line:
    """One position being placed, resolved against the catalog."""

    index: int
    draft: PositionDraft
    item: Item
    variation: ItemVariation | None
    subevent_id: int | None
    voucher: Voucher | None
    taxed: Taxed
    parent_index: int | None
    answers: list[tuple[int, str, list[int]]] = field(default_factory=list)

    # apply_rounding_mode works on these attributes.
    @property
    def price(self) -> Decimal:
        return self.taxed.gross

    @price.setter
    def price(self, value: Decimal) -> None:
        self.taxed = Taxed(value, self.taxed.tax, self.taxed.rate, self.taxed.code, self.taxed.rule_id)

    @property
    def tax_value(self) -> Decimal:
        return self.taxed.tax

    @tax_value.setter
    def tax_value(self, value: Decimal) -> None:
        self.taxed = Taxed(self.taxed.gross, value, self.taxed.rate, self.taxed.code, self.taxed.rule_id)

    @property
    def tax_rate(self) -> Decimal:
        return self.taxed.rate

    @property
    def key(self) -> quotas.ProductKey:
        return (self.item.id, self.variation.id if self.variation else None, self.subevent_id)


@dataclass
class _Fee:
    draft: FeeDraft
    taxed: Taxed

    @property
    def price(self) -> Decimal:
        return self.taxed.gross

    @price.setter
    def price(self, value: Decimal) -> None:
        self.taxed = Taxed(value, self.taxed.tax, self.taxed.rate, self.taxed.code, self.taxed.rule_id)

    @property
    def tax_value(self) -> Decimal:
        return self.taxed.tax

    @tax_value.setter
    def tax_value(self, value: Decimal) -> None:
        self.taxed = Taxed(self.taxed.gross, value, self.taxed.rate, self.taxed.code, self.taxed.rule_id)

    @property
    def tax_rate(self) -> Decimal:
        return self.taxed.rate


class _Errors:
    """Field errors of positions and the order, collected so one response names every problem."""

    def __init__(self, count: int) -> None:
        self.positions: list[dict[str, list[str]]] = [{} for _ in range(count)]
        self.order: dict[str, Any] = {}

    def position(self, index: int, name: str, message: str) -> None:
        self.positions[index].setdefault(name, []).append(message)

    def field(self, name: str, message: str) -> None:
        self.order.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        errors = dict(self.order)
        if any(self.positions):
            errors["positions"] = self.positions
        if errors:
            raise OrderError(errors=errors)


def place_order(kernel: Kernel, session: Session, event: Event, draft: OrderDraft, *, actor: Actor) -> Order:
    """Create the order described by ``draft`` (pretix's order-creation semantics; see the API docs).

    Raises :class:`OrderError` for anything wrong with the draft, including sold-out quotas; the caller's
    transaction must then be rolled back (nothing has been committed). With ``draft.simulate`` the order is built
    and returned inside a savepoint that is rolled back; no plugin is told about it.
    """
    if draft.simulate:
        savepoint = session.begin_nested()
        try:
            order = _place(kernel, session, event, draft, actor=actor, notify=False)
            # Load everything the caller serialises before the rows disappear.
            _ = [(p.answers, p.order) for p in order.positions], order.fees, order.payments, order.invoice_address
            return order
        finally:
            savepoint.rollback()
    return _place(kernel, session, event, draft, actor=actor, notify=True)


def _place(kernel: Kernel, session: Session, event: Event, draft: OrderDraft, *, actor: Actor, notify: bool) -> Order:
    now = clock.now()
    errors = _Errors(len(draft.positions))
    settings = kernel.settings_for(session, event=event)
    _check_header(session, event, draft, settings.get("locales"), errors)
    address = _address_from(draft.invoice_address) if draft.invoice_address else None
    lines = _resolve_positions(session, event, draft, address, errors)
    errors.raise_if_any()
    fees = _resolve_fees(session, event, draft, lines, address, errors)
    errors.raise_if_any()

    rounding = draft.tax_rounding_mode or "line"
    apply_rounding_mode([*lines, *fees], rounding)
    total = sum((line.taxed.gross for line in lines), ZERO) + sum((fee.taxed.gross for fee in fees), ZERO)

    status = draft.status or STATUS_PENDING
    provider_name = draft.payment_provider
    if total == ZERO and status == STATUS_PENDING and not draft.require_approval:
        status, provider_name = STATUS_PAID, provider_name or "free"
    if provider_name is not None:
        providers = payment_providers(kernel, session, event)
        if provider_name not in providers:
            errors.field("payment_provider", "The given payment provider is not known.")
    elif status == STATUS_PAID:
        errors.field("payment_provider", "A payment provider is required for paid orders.")
    errors.raise_if_any()

    # Lock-free early answer for sold-out products, before anything is written.
    quota_ids: list[int] = []
    if not draft.force:
        try:
            quota_ids = quotas.check_capacity(session, event.id, [line.key for line in lines])
        except quotas.NoQuota as problem:
            raise OrderError.position(problem.index, len(lines), "item", problem.detail) from None
        except quotas.QuotaExceeded as problem:
            raise _quota_error(problem, lines) from None

    code = _order_code(kernel, session, event, draft, errors)
    errors.raise_if_any()
    order = Order(
        event_id=event.id,
        code=code if not draft.simulate else PREVIEW_CODE,
        status=status,
        testmode=draft.testmode,
        secret=codes.order_secret(),
        email=draft.email,
        phone=draft.phone,
        customer=draft.customer,
        locale=draft.locale or settings.get("locale"),
        sales_channel=draft.sales_channel,
        datetime=now,
        expires=clock_utc(draft.expires) if draft.expires else payment_deadline(kernel, session, event, now),
        total=total,
        tax_rounding_mode=rounding,
        comment=draft.comment or "",
        api_meta=draft.api_meta or {},
        custom_followup_at=draft.custom_followup_at,
        checkin_attention=draft.checkin_attention,
        checkin_text=draft.checkin_text,
        require_approval=draft.require_approval or any(line.item.require_approval for line in lines),
        valid_if_pending=draft.valid_if_pending,
        last_modified=now,
    )
    order.event = event
    session.add(order)
    session.flush()
    if draft.invoice_address is not None:
        session.add(_invoice_address(order, draft.invoice_address))

    positions = _write_positions(kernel, session, order, lines)
    fee_rows = [
        OrderFee(
            order_id=order.id,
            fee_type=fee.draft.fee_type,
            value=fee.taxed.gross,
            description=fee.draft.description,
            internal_type=fee.draft.internal_type,
            tax_rate=fee.taxed.rate,
            tax_value=fee.taxed.tax,
            tax_code=fee.taxed.code,
            tax_rule_id=fee.taxed.rule_id,
        )
        for fee in fees
    ]
    session.add_all(fee_rows)
    if provider_name is not None:
        session.add(
            OrderPayment(
                order_id=order.id,
                local_id=1,
                state="confirmed" if status == STATUS_PAID else "created",
                amount=total,
                created=now,
                payment_date=(clock_utc(draft.payment_date) if draft.payment_date else now)
                if status == STATUS_PAID
                else None,
                provider=provider_name,
                info=_payment_info(draft.payment_info),
            )
        )
    if draft.consume_carts:
        for cart_position in session.scalars(
            select(CartPosition).where(CartPosition.event_id == event.id, CartPosition.cart_id.in_(draft.consume_carts))
        ):
            session.delete(cart_position)
    session.flush()
    record_transactions(session, order, positions=positions, fees=fee_rows, when=now, fresh=True)
    _redeem_vouchers(session, lines, positions)
    # Last: lock the quotas this order needs and count again with the order in place.
    if not draft.force:
        try:
            quotas.verify(session, quota_ids)
        except quotas.QuotaExceeded as problem:
            raise _quota_error(problem, lines) from None
    session.flush()
    session.refresh(order)
    if notify:
        kernel.log_action(
            session,
            order,
            "boxoffice.event.order.placed",
            actor=actor,
            data={"code": order.code, "total": str(total), "status": status, "send_email": draft.send_email},
        )
        hooks = kernel.plugins.for_event(event)
        hooks.order_placed(event=event, order=order, session=session)
    return order


def clock_utc(value: datetime) -> datetime:
    """Datetimes are kept in UTC; a client's datetime without offset is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _quota_error(problem: quotas.QuotaExceeded, lines: Sequence[_Line]) -> OrderError:
    """Point the quota error at the first position that counts against the exhausted quota."""
    index = 0
    for line in lines:
        if line.item.id in {item.id for item in problem.quota.items}:
            index = line.index
            break
    return OrderError.position(index, len(lines), "item", problem.detail)


def _check_header(session: Session, event: Event, draft: OrderDraft, locales: Any, errors: _Errors) -> None:
    if draft.status not in (None, STATUS_PENDING, STATUS_PAID):
        errors.field("status", 'Only "n" (pending) and "p" (paid) are allowed when creating an order.')
    if not draft.positions:
        errors.field("positions", "An order cannot be empty.")
    elif len(draft.positions) > MAX_POSITIONS:
        errors.field("positions", f"An order can have at most {MAX_POSITIONS} positions.")
    if draft.locale is not None and draft.locale not in (locales or []):
        errors.field("locale", f'"{draft.locale}" is not a valid choice.')
    if draft.tax_rounding_mode is not None and draft.tax_rounding_mode not in TAX_ROUNDING_MODES:
        errors.field("tax_rounding_mode", f'"{draft.tax_rounding_mode}" is not a valid choice.')
    if draft.use_gift_cards:
        errors.field("use_gift_cards", "Gift cards are not supported by this server.")
    if draft.email is not None and draft.email and ("@" not in draft.email or len(draft.email) > 254):
        errors.field("email", "Enter a valid email address.")
    channel = session.scalar(
        select(SalesChannel.id).where(
            SalesChannel.organizer_id == event.organizer_id, SalesChannel.identifier == draft.sales_channel
        )
    )
    if channel is None and draft.sales_channel not in BUILTIN_CHANNELS:
        errors.field("sales_channel", f'Unknown sales channel "{draft.sales_channel}".')
    if draft.invoice_address is not None:
        address = draft.invoice_address
        if address.name is not None and address.name_parts:
            errors.order.setdefault("invoice_address", {}).setdefault("name", []).append(
                "Do not specify name if you specified name_parts."
            )
        if address.country and len(address.country) != 2:
            errors.order.setdefault("invoice_address", {}).setdefault("country", []).append(
                f'"{address.country}" is not a valid choice.'
            )


def _order_code(kernel: Kernel, session: Session, event: Event, draft: OrderDraft, errors: _Errors) -> str:
    """The client's code if valid and free, else a new random one; unique across the organizer's events."""

    def taken(code: str) -> bool:
        return (
            session.scalar(
                select(Order.id)
                .join(Event, Event.id == Order.event_id)
                .where(Event.organizer_id == event.organizer_id, Order.code == code)
                .limit(1)
            )
            is not None
        )

    if draft.code is not None:
        if not codes.CLIENT_ORDER_CODE.match(draft.code):
            errors.field("code", "Order codes may only contain A-Z (without O) and digits (without 1).")
        elif taken(draft.code):
            errors.field("code", "This order code is already in use.")
        return draft.code
    while True:
        code = codes.order_code(kernel.config.order_code_length)
        if not taken(code):
            return code


def _address_from(draft: InvoiceAddressDraft) -> InvoiceAddress:
    return InvoiceAddress(
        company=draft.company or "",
        is_business=draft.is_business,
        country=(draft.country or "").upper(),
        vat_id=draft.vat_id or "",
        vat_id_validated=draft.vat_id_validated,
    )


def _invoice_address(order: Order, draft: InvoiceAddressDraft) -> InvoiceAddress:
    return InvoiceAddress(
        order_id=order.id,
        company=draft.company or "",
        is_business=draft.is_business,
        name_parts=name_parts(draft.name, draft.name_parts),
        street=draft.street or "",
        zipcode=draft.zipcode or "",
        city=draft.city or "",
        country=(draft.country or "").upper(),
        state=draft.state or "",
        internal_reference=draft.internal_reference or "",
        vat_id=draft.vat_id or "",
        vat_id_validated=draft.vat_id_validated,
        custom_field=draft.custom_field,
        transmission_type=draft.transmission_type or "email",
        transmission_info=draft.transmission_info,
    )


def _payment_info(info: dict[str, Any] | str | None) -> dict[str, Any]:
    if info is None:
        return {}
    if isinstance(info, str):
        return {"info": info}
    return info


def _resolve_positions(
    session: Session, event: Event, draft: OrderDraft, address: InvoiceAddress | None, errors: _Errors
) -> list[_Line]:
    positions = draft.positions
    count = len(positions)
    items = {
        item.id: item
        for item in session.scalars(
            select(Item).where(Item.event_id == event.id, Item.id.in_({p.item for p in positions}))
        )
    }
    variation_ids = {p.variation for p in positions if p.variation is not None}
    variations = (
        {v.id: v for v in session.scalars(select(ItemVariation).where(ItemVariation.id.in_(variation_ids)))}
        if variation_ids
        else {}
    )
    subevent_ids = {p.subevent for p in positions if p.subevent is not None}
    subevents = (
        set(session.scalars(select(SubEvent.id).where(SubEvent.event_id == event.id, SubEvent.id.in_(subevent_ids))))
        if subevent_ids
        else set()
    )
    rule_ids = {item.tax_rule_id for item in items.values() if item.tax_rule_id is not None}
    rules = (
        {rule.id: rule for rule in session.scalars(select(TaxRule).where(TaxRule.id.in_(rule_ids)))} if rule_ids else {}
    )
    vouchers = _load_vouchers(session, event, [p.voucher for p in positions if p.voucher])
    questions = load_questions(session, event.id, [a.question for p in positions for a in p.answers])

    given_ids = [p.positionid for p in positions]
    use_ids = any(value is not None for value in given_ids)
    if use_ids and given_ids != list(range(1, count + 1)):
        errors.field("positions", "If you set positionid, all positions need consecutive ids starting at 1.")
    index_by_positionid = {value: index for index, value in enumerate(given_ids) if value is not None}

    lines: list[_Line] = []
    for index, position in enumerate(positions):
        item = items.get(position.item)
        if item is None:
            errors.position(index, "item", f'Invalid pk "{position.item}" - object does not exist.')
            continue
        variation = variations.get(position.variation) if position.variation is not None else None
        if position.variation is not None and (variation is None or variation.item_id != item.id):
            errors.position(index, "variation", "You cannot specify a variation that does not belong to the item.")
            continue
        if item.has_variations and variation is None:
            errors.position(index, "variation", "You should specify a variation for this item.")
            continue
        if event.has_subevents:
            if position.subevent is None:
                errors.position(index, "subevent", "You need to set a subevent.")
                continue
            if position.subevent not in subevents:
                errors.position(index, "subevent", f'Invalid pk "{position.subevent}" - object does not exist.')
                continue
        elif position.subevent is not None:
            errors.position(index, "subevent", "You cannot set a subevent for this event.")
            continue
        if position.seat is not None:
            errors.position(index, "seat", "The event has no seating plan.")
            continue
        if position.attendee_name and position.attendee_name_parts:
            errors.position(
                index, "attendee_name", "Do not specify attendee_name if you specified attendee_name_parts."
            )
        if position.attendee_email is not None and position.attendee_email and "@" not in position.attendee_email:
            errors.position(index, "attendee_email", "Enter a valid email address.")
        parent_index = None
        if position.addon_to is not None:
            parent_index = index_by_positionid.get(position.addon_to)
            if parent_index is None or parent_index >= index:
                errors.position(index, "addon_to", "The add-on must follow the position it belongs to.")
                continue
            if positions[parent_index].addon_to is not None:
                errors.position(index, "addon_to", "An add-on cannot belong to another add-on.")
                continue
        voucher = None
        if position.voucher:
            voucher = vouchers.get(position.voucher.upper())
            problem = _voucher_problem(session, voucher, item, variation, position.subevent)
            if problem:
                errors.position(index, "voucher", problem)
                continue
        rule = rules.get(item.tax_rule_id) if item.tax_rule_id is not None else None
        if rule is not None and decide(rule, address).blocked:
            errors.position(index, "item", "This product cannot be sold to the given invoice address.")
            continue
        if position.price is not None:
            if not Decimal(position.price).is_finite() or position.price < 0:
                errors.position(index, "price", "Ensure this value is greater than or equal to 0.")
                continue
            taxed = taxed_gross(Decimal(position.price), rule, address)
        else:
            base = variation.default_price if variation is not None and variation.default_price is not None else None
            catalog = Decimal(base if base is not None else item.default_price)
            taxed = taxed_catalog_price(voucher_price(voucher, catalog), rule, address)
        line = _Line(index, position, item, variation, position.subevent, voucher, taxed, parent_index)
        for answer in position.answers:
            question = questions.get(answer.question)
            if question is None:
                errors.position(index, "answers", f'Invalid pk "{answer.question}" - object does not exist.')
                continue
            try:
                text, options = normalise_answer(question, answer)
            except AnswerProblem as problem:
                errors.position(index, "answers", str(problem))
                continue
            line.answers.append((question.id, text, options))
        lines.append(line)
    return lines


def _load_vouchers(session: Session, event: Event, wanted: list[str]) -> dict[str, Voucher]:
    if not wanted:
        return {}
    upper = {code.upper() for code in wanted}
    found = session.scalars(select(Voucher).where(Voucher.event_id == event.id, func.upper(Voucher.code).in_(upper)))
    return {voucher.code.upper(): voucher for voucher in found}


def _voucher_problem(
    session: Session, voucher: Voucher | None, item: Item, variation: ItemVariation | None, subevent: int | None
) -> str:
    if voucher is None:
        return "Voucher with this code does not exist."
    if voucher.valid_until is not None and voucher.valid_until < clock.now():
        return "This voucher is expired."
    if voucher.redeemed >= voucher.max_usages:
        return "This voucher has already been redeemed."
    if voucher.item_id is not None and voucher.item_id != item.id:
        return "This voucher is not valid for this product."
    if voucher.variation_id is not None and (variation is None or voucher.variation_id != variation.id):
        return "This voucher is not valid for this product variation."
    if voucher.quota_id is not None and not session.scalar(
        select(func.count()).where(quota_items.c.quota_id == voucher.quota_id, quota_items.c.item_id == item.id)
    ):
        return "This voucher is not valid for this product."
    if voucher.subevent_id is not None and voucher.subevent_id != subevent:
        return "This voucher is not valid for this event date."
    return ""


def _resolve_fees(
    session: Session,
    event: Event,
    draft: OrderDraft,
    lines: Sequence[_Line],
    address: InvoiceAddress | None,
    errors: _Errors,
) -> list[_Fee]:
    resolved: list[_Fee] = []
    fee_errors: list[dict[str, list[str]]] = [{} for _ in draft.fees]
    product_total = sum((line.taxed.gross for line in lines), ZERO)
    for index, fee in enumerate(draft.fees):
        if fee.fee_type not in FEE_TYPES:
            fee_errors[index]["fee_type"] = [f'"{fee.fee_type}" is not a valid choice.']
            continue
        if not Decimal(fee.value).is_finite():
            fee_errors[index]["value"] = ["A valid number is required."]
            continue
        value = round_money(product_total * Decimal(fee.value) / 100) if fee.treat_value_as_percentage else fee.value
        rule = None
        if fee.tax_rule is not None:
            rule = session.get(TaxRule, fee.tax_rule)
            if rule is None or rule.event_id != event.id:
                fee_errors[index]["tax_rule"] = [f'Invalid pk "{fee.tax_rule}" - object does not exist.']
                continue
        if fee.split_taxes_like_products and product_total:
            resolved.extend(_split_fee(fee, Decimal(value), lines))
            continue
        resolved.append(_Fee(fee, taxed_gross(Decimal(value), rule, address) if rule else untaxed(Decimal(value))))
    if any(fee_errors):
        errors.order["fees"] = fee_errors
    return resolved


def _split_fee(fee: FeeDraft, value: Decimal, lines: Sequence[_Line]) -> list[_Fee]:
    """Tax a fee like the products it comes with: one fee per tax rate, in proportion to their gross totals."""
    by_rate: dict[tuple[Decimal, str | None, int | None], Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        by_rate[(line.taxed.rate, line.taxed.code, line.taxed.rule_id)] += line.taxed.gross
    total = sum(by_rate.values(), ZERO)
    parts: list[_Fee] = []
    remaining = value
    keys = list(by_rate)
    for position, (rate, code, rule_id) in enumerate(keys):
        share = remaining if position == len(keys) - 1 else round_money(value * by_rate[(rate, code, rule_id)] / total)
        remaining -= share
        tax = round_money(share * rate / (100 + rate)) if rate else ZERO
        parts.append(_Fee(fee, Taxed(share, tax, rate, code, rule_id)))
    return parts


def _write_positions(kernel: Kernel, session: Session, order: Order, lines: Sequence[_Line]) -> list[OrderPosition]:
    rows: list[OrderPosition] = []
    for number, line in enumerate(lines, start=1):
        draft = line.draft
        parts = name_parts(draft.attendee_name, draft.attendee_name_parts)
        row = OrderPosition(
            order_id=order.id,
            positionid=number,
            item_id=line.item.id,
            variation_id=line.variation.id if line.variation else None,
            subevent_id=line.subevent_id,
            price=line.taxed.gross,
            tax_rate=line.taxed.rate,
            tax_value=line.taxed.tax,
            tax_code=line.taxed.code,
            tax_rule_id=line.taxed.rule_id,
            attendee_name_parts=parts,
            attendee_name_cached=format_name(parts),
            attendee_email=draft.attendee_email,
            company=draft.company,
            street=draft.street,
            zipcode=draft.zipcode,
            city=draft.city,
            country=draft.country,
            state=draft.state,
            voucher_id=line.voucher.id if line.voucher else None,
            secret=draft.secret or codes.ticket_secret(kernel.config.ticket_secret_length),
            web_secret=codes.web_secret(),
            pseudonymization_id=codes.pseudonymization_id(),
            valid_from=clock_utc(draft.valid_from) if draft.valid_from else None,
            valid_until=clock_utc(draft.valid_until) if draft.valid_until else None,
            discount_id=draft.discount,
        )
        if line.voucher is not None and line.voucher.budget is not None:
            catalog = line.variation.default_price if line.variation and line.variation.default_price else None
            full = Decimal(catalog if catalog is not None else line.item.default_price)
            row.voucher_budget_use = max(ZERO, full - line.taxed.gross)
        rows.append(row)
    session.add_all(rows)
    session.flush()
    for line, row in zip(lines, rows, strict=True):
        if line.parent_index is not None:
            row.addon_to_id = rows[line.parent_index].id
        for question_id, text, options in line.answers:
            session.add(
                QuestionAnswer(orderposition_id=row.id, question_id=question_id, answer=text, option_ids=options)
            )
    return rows


def _redeem_vouchers(session: Session, lines: Sequence[_Line], positions: Sequence[OrderPosition]) -> None:
    """Count the vouchers' new redemptions with a guarded update per voucher (in id order: no deadlocks), which
    also locks the voucher rows until commit so concurrent buyers cannot both take its last use."""
    uses: dict[int, int] = defaultdict(int)
    budget_use: dict[int, Decimal] = defaultdict(lambda: ZERO)
    vouchers: dict[int, Voucher] = {}
    for line, position in zip(lines, positions, strict=True):
        if line.voucher is not None:
            uses[line.voucher.id] += 1
            vouchers[line.voucher.id] = line.voucher
            budget_use[line.voucher.id] += position.voucher_budget_use or ZERO
    for voucher_id in sorted(uses):
        number = uses[voucher_id]
        result = session.execute(
            update(Voucher)
            .where(Voucher.id == voucher_id, Voucher.redeemed + number <= Voucher.max_usages)
            .values(redeemed=Voucher.redeemed + number)
            .execution_options(synchronize_session=False)
        )
        voucher = vouchers[voucher_id]
        index = next(line.index for line in lines if line.voucher is not None and line.voucher.id == voucher_id)
        if result.rowcount != 1:
            raise OrderError.position(index, len(lines), "voucher", "This voucher has already been redeemed.")
        if voucher.budget is not None:
            spent = session.scalar(
                select(func.coalesce(func.sum(OrderPosition.voucher_budget_use), 0))
                .join(Order, Order.id == OrderPosition.order_id)
                .where(OrderPosition.voucher_id == voucher_id, OrderPosition.canceled.is_(False))
            )
            if Decimal(spent) > Decimal(voucher.budget):
                raise OrderError.position(index, len(lines), "voucher", "The voucher's budget has been used up.")
        session.expire(voucher, ["redeemed"])
