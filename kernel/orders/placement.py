"""Placing an order: check the draft against the catalog, price and tax it, write it, and take quota — atomically.

The order is written first and the quotas it needs are locked and re-counted last (see
:mod:`boxoffice.kernel.orders.quotas`), so concurrent buyers of one product serialise only on that product's
quota rows for the length of one count, and an order that would oversell leaves nothing behind.

Placing an order is pretix's *trusted import*: prices sent are taken as they are, and sale windows, sales-channel
limits, per-order limits, add-on and bundle rules, voucher-only products and required questions are not checked.
Quotas (unless ``force``), vouchers (validity, usages, budget), answers, ticket secrets and the order code are.
Every problem is collected first, so one 400 answer names all of them, in the shape of the input
(``{"positions": [{}, {"item": ["…"]}]}``).
"""

from __future__ import annotations

import calendar
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.availability import QuotaScope, quota_scopes
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import (
    FEE_TYPES,
    QUOTA_HOLDING_STATUSES,
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
from boxoffice.kernel.models.questions import CHOICE_TYPES, Question, question_items
from boxoffice.kernel.models.quotas import Quota
from boxoffice.kernel.models.saleschannels import BUILTIN_CHANNELS, SalesChannel
from boxoffice.kernel.models.subevents import SubEvent, SubEventItem, SubEventItemVariation
from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import codes, quotas
from boxoffice.kernel.orders.answers import COUNTRIES, PHONE, AnswerProblem, is_empty, load_questions, normalise_answer
from boxoffice.kernel.orders.drafts import FeeDraft, InvoiceAddressDraft, OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.ledger import record_transactions
from boxoffice.kernel.orders.pricing import (
    ZERO,
    Taxed,
    apply_rounding_mode,
    decide,
    money_problem,
    round_money,
    taxed_catalog_price,
    taxed_gross,
    untaxed,
    voucher_price,
)
from boxoffice.kernel.orders.providers import payment_providers
from boxoffice.kernel.orders.vouchers import budget_exceeded, take_uses

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.settings import Settings

MAX_POSITIONS = 10_000
PREVIEW_CODE = "PREVIEW"
# _write_positions hands the answers it wrote to _place through the session (one order per unit of work).
NEW_ANSWERS_KEY = "boxoffice.new_answers"
# Random order codes are drawn again when taken; this many misses in a row mean the code space is too small.
CODE_ATTEMPTS = 25
FREE_PROVIDER = "free"
NON_FIELD = "non_field_errors"
EMAIL = re.compile(r"^[^@\s]+@(localhost|[^@\s.]+(\.[^@\s.]+)+)$")
# Countries whose addresses carry a state (ISO 3166-2 subdivision without the country prefix, e.g. "NY").
STATE_COUNTRIES = frozenset({"AU", "BR", "CA", "CN", "MY", "MX", "US"})
STATE = re.compile(r"^[A-Z0-9]{1,3}$")
# Name parts that are not part of the displayed name (how to address someone, transcriptions).
_HIDDEN_NAME_PARTS = frozenset({"salutation", "calling_name", "latin_transcription"})
_NAME_ORDER = ("title", "given_name", "middle_name", "family_name", "full_name")
_FAMILY_FIRST_ORDER = ("title", "family_name", "given_name", "middle_name", "full_name")


def _widths(model: type, *names: str) -> dict[str, int]:
    """Column widths (PostgreSQL refuses longer text instead of cutting it, so the draft is checked first)."""
    table = model.__table__  # type: ignore[attr-defined]
    return {name: table.c[name].type.length for name in names}


ORDER_WIDTHS = _widths(Order, "email", "phone", "customer")
POSITION_WIDTHS = _widths(OrderPosition, "attendee_email", "company", "zipcode", "city", "state", "secret")
ADDRESS_WIDTHS = _widths(InvoiceAddress, "company", "zipcode", "city", "state", "vat_id", "custom_field")
FEE_WIDTHS = _widths(OrderFee, "description", "internal_type")
NAME_WIDTH = _widths(OrderPosition, "attendee_name_cached")["attendee_name_cached"]


def format_name(parts: dict[str, str] | None) -> str | None:
    """One display string from structured name parts.

    Well-known parts come in the usual order (family name first for the ``family_…`` schemes, without a space for
    ``family_nospace_given``); other parts follow in the order given. Keys starting with ``_`` (``_scheme``,
    ``_legacy``) and parts that are not shown as part of the name (salutation, calling name, transcription) are left
    out; a name given as one string (``_legacy``) is shown as it is.
    """
    if not parts:
        return None
    scheme = str(parts.get("_scheme") or "")
    order = _FAMILY_FIRST_ORDER if scheme.startswith("family") else _NAME_ORDER
    words = [parts[key] for key in order if parts.get(key)] + [
        value
        for key, value in parts.items()
        if value and key not in order and key not in _HIDDEN_NAME_PARTS and not key.startswith("_")
    ]
    separator = "" if scheme == "family_nospace_given" else " "
    text = separator.join(str(word) for word in words)
    return text or parts.get("_legacy") or None


def name_parts(name: str | None, parts: dict[str, str] | None) -> dict[str, str]:
    """The name parts to store: the structured parts if given, else the one-string name as ``_legacy``."""
    if parts:
        return dict(parts)
    if name:
        return {"_legacy": name}
    return {}


def event_zone(event: Event) -> tzinfo:
    """The event's time zone (UTC when the stored name is unknown)."""
    try:
        return ZoneInfo(event.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def end_of_day(event: Event, moment: datetime) -> datetime:
    """23:59:59 of ``moment``'s day in the event's time zone (payment deadlines end with the local day)."""
    zone = event_zone(event)
    local = moment.astimezone(zone)
    return datetime.combine(local.date(), time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def payment_deadline(
    kernel: Kernel, session: Session, event: Event, start: datetime, *, settings: Settings | None = None
) -> datetime:
    """When an order placed at ``start`` expires unless paid: the end of the day ``payment_term_days`` later."""
    settings = settings or kernel.settings_for(session, event=event)
    return end_of_day(event, start + timedelta(days=int(settings.get("payment_term_days"))))


def clock_utc(value: datetime) -> datetime:
    """Datetimes are kept in UTC; a client's datetime without offset is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def dynamic_validity(event: Event, item: Item, start: datetime) -> datetime | None:
    """When a ticket of an item with *dynamic* validity that starts at ``start`` stops being valid.

    Days and months count calendar days in the event's time zone including the first one, and end with that day: a
    one-day ticket is valid until the end of the day it starts, a one-month ticket bought on 15 January until the
    end of 14 February. Hours and minutes are added on top (alone, they run from the start to the minute). Without
    any duration the ticket stays valid (``None``).
    """
    months = item.validity_dynamic_duration_months or 0
    days = item.validity_dynamic_duration_days or 0
    extra = timedelta(
        hours=item.validity_dynamic_duration_hours or 0, minutes=item.validity_dynamic_duration_minutes or 0
    )
    if not (months or days or extra):
        return None
    if not (months or days):
        return start + extra
    zone = event_zone(event)
    last_day = add_months(start.astimezone(zone).date(), months) + timedelta(days=days - 1)
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=zone).astimezone(UTC) + extra


class _TaxedAmount:
    """``price``/``tax_value``/``tax_rate`` over ``taxed``: the attributes ``apply_rounding_mode`` works on."""

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


@dataclass
class _Line(_TaxedAmount):
    """One position being placed, resolved against the catalog."""

    index: int
    draft: PositionDraft
    item: Item
    variation: ItemVariation | None
    subevent_id: int | None
    voucher: Voucher | None
    taxed: Taxed
    parent_index: int | None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    budget_use: Decimal | None = None
    answers: list[tuple[int, str, list[int]]] = field(default_factory=list)

    @property
    def key(self) -> quotas.ProductKey:
        return (self.item.id, self.variation.id if self.variation else None, self.subevent_id)


@dataclass
class _Fee(_TaxedAmount):
    draft: FeeDraft
    taxed: Taxed


class _Errors:
    """Field errors of positions, fees and the order, collected so one response names every problem."""

    def __init__(self, positions: int, fees: int) -> None:
        self.positions: list[dict[str, Any]] = [{} for _ in range(positions)]
        self.fees: list[dict[str, list[str]]] = [{} for _ in range(fees)]
        self.order: dict[str, Any] = {}

    def position(self, index: int, name: str, message: str) -> None:
        self.positions[index].setdefault(name, []).append(message)

    def answer(self, index: int, answer: int, count: int, name: str, message: str) -> None:
        """An error about field ``name`` of the ``answer``-th of the position's ``count`` answers."""
        entries = self.positions[index].setdefault("answers", [{} for _ in range(count)])
        entries[answer].setdefault(name, []).append(message)

    def fee(self, index: int, name: str, message: str) -> None:
        self.fees[index].setdefault(name, []).append(message)

    def field(self, name: str, message: str) -> None:
        self.order.setdefault(name, []).append(message)

    def nested(self, name: str, problems: dict[str, list[str]]) -> None:
        if problems:
            self.order[name] = problems

    def raise_if_any(self) -> None:
        errors = dict(self.order)
        # A problem with the list as a whole (its length, its numbering) says more than the positions' own.
        if any(self.positions) and "positions" not in errors:
            errors["positions"] = self.positions
        if any(self.fees):
            errors["fees"] = self.fees
        if errors:
            raise OrderError(errors=errors)


@dataclass
class _Catalog:
    """Everything the draft refers to, loaded with one query per kind (and none for kinds it does not use)."""

    items: dict[int, Item] = field(default_factory=dict)
    variations: dict[int, ItemVariation] = field(default_factory=dict)
    subevents: set[int] = field(default_factory=set)
    rules: dict[int, TaxRule] = field(default_factory=dict)
    vouchers: dict[str, Voucher] = field(default_factory=dict)
    voucher_scopes: dict[int, QuotaScope] = field(default_factory=dict)
    budget_left: dict[int, Decimal] = field(default_factory=dict)
    questions: dict[int, Question] = field(default_factory=dict)
    asked: set[tuple[int, int]] = field(default_factory=set)
    item_prices: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    variation_prices: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    taken_secrets: set[str] = field(default_factory=set)


def place_order(kernel: Kernel, session: Session, event: Event, draft: OrderDraft, *, actor: Actor) -> Order:
    """Create the order described by ``draft`` (pretix's order-creation semantics; see docs/api-orders-create.md).

    Raises :class:`OrderError` for anything wrong with the draft, including sold-out quotas; the caller's
    transaction must then be rolled back (nothing has been committed). With ``draft.simulate`` the order is built
    and returned inside a savepoint that is rolled back: nothing is stored, no plugin is told and nothing is
    logged; the order's code is ``PREVIEW`` and its rows have no ids.
    """
    if draft.simulate:
        savepoint = session.begin_nested()
        try:
            order = _place(kernel, session, event, draft, actor=actor, notify=False)
            # Load everything the caller serialises before the rows disappear.
            _ = [(p.answers, p.order) for p in order.positions], order.fees, order.payments, order.refunds
            _ = order.invoice_address
            return order
        finally:
            savepoint.rollback()
    return _place(kernel, session, event, draft, actor=actor, notify=True)


def _place(kernel: Kernel, session: Session, event: Event, draft: OrderDraft, *, actor: Actor, notify: bool) -> Order:
    now = clock.now()
    errors = _Errors(len(draft.positions), len(draft.fees))
    settings = kernel.settings_for(session, event=event)
    _check_header(kernel, session, event, draft, settings, errors)
    if "positions" in errors.order:
        errors.raise_if_any()
    address = _invoice_address(draft.invoice_address) if draft.invoice_address is not None else None
    catalog = _load_catalog(session, event, draft)
    lines = _resolve_positions(session, event, draft, address, catalog, errors, now)
    fees = _resolve_fees(draft, lines, address, catalog, errors)
    errors.raise_if_any()

    rounding = draft.tax_rounding_mode or "line"
    apply_rounding_mode([*lines, *fees], rounding)
    total = sum((line.taxed.gross for line in lines), ZERO) + sum((fee.taxed.gross for fee in fees), ZERO)
    if total < ZERO:
        errors.field("fees", "The order total must not be negative.")
    elif money_problem(total):
        # Each amount fits its column, their sum may not (10,000 positions of the largest price).
        errors.field(NON_FIELD, "The order total is too large.")

    status = draft.status or STATUS_PENDING
    require_approval = draft.require_approval
    if status == STATUS_PENDING:
        # The organizer's approval rules apply unless the client says the order is paid already.
        require_approval = require_approval or any(_needs_approval(line, catalog, address) for line in lines)
    provider_name = draft.payment_provider
    if total == ZERO and status == STATUS_PENDING and not require_approval:
        status = STATUS_PAID
    if status == STATUS_PAID and provider_name is None:
        if total == ZERO:
            provider_name = FREE_PROVIDER
        else:
            errors.field("payment_provider", "This field is required for paid orders.")
    errors.raise_if_any()

    if draft.consume_carts:
        # Before counting: the carts' quota is this order's to take.
        session.execute(
            delete(CartPosition)
            .where(CartPosition.event_id == event.id, CartPosition.cart_id.in_(set(draft.consume_carts)))
            .execution_options(synchronize_session=False)
        )
    quota_ids = _check_capacity(session, event, lines) if not draft.force else []

    # A simulation checks the client's code but never draws a random one.
    code = _order_code(kernel, session, event, draft) if draft.code is not None or not draft.simulate else ""
    order = Order(
        event_id=event.id,
        code=PREVIEW_CODE if draft.simulate else code,
        status=status,
        testmode=draft.testmode,
        secret=codes.order_secret(),
        email=draft.email or None,
        phone=draft.phone or None,
        customer=draft.customer or None,
        locale=draft.locale or settings.get("locale"),
        sales_channel=draft.sales_channel,
        datetime=now,
        expires=clock_utc(draft.expires)
        if draft.expires
        else payment_deadline(kernel, session, event, now, settings=settings),
        total=total,
        tax_rounding_mode=rounding,
        comment=draft.comment or "",
        api_meta=draft.api_meta or {},
        custom_followup_at=draft.custom_followup_at,
        checkin_attention=draft.checkin_attention,
        checkin_text=draft.checkin_text,
        require_approval=require_approval,
        valid_if_pending=draft.valid_if_pending,
        last_modified=now,
    )
    order.event = event
    session.add(order)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent order took the same code between the check and the insert.
        raise OrderError.field("code", "This order code is already in use.") from None
    if address is not None:
        address.order_id = order.id
        session.add(address)

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
    payments: list[OrderPayment] = []
    if provider_name is not None:
        paid = status == STATUS_PAID
        payments.append(
            OrderPayment(
                order_id=order.id,
                local_id=1,
                state="confirmed" if paid else "created",
                amount=total,
                created=now,
                payment_date=(clock_utc(draft.payment_date) if draft.payment_date else now) if paid else None,
                provider=provider_name,
                info=_payment_info(draft.payment_info),
            )
        )
        session.add_all(payments)
    session.flush()
    record_transactions(session, order, positions=positions, fees=fee_rows, when=now, fresh=True)
    _redeem_vouchers(session, lines, positions)
    # The rows were written by foreign key, not through the relationships: fill those in as loaded, so that the
    # caller (the API answering with the new order) needs no queries to read the order back.
    set_committed_value(order, "positions", positions)
    set_committed_value(order, "fees", fee_rows)
    set_committed_value(order, "payments", payments)
    set_committed_value(order, "refunds", [])
    set_committed_value(order, "invoice_address", address)
    answers_by_position: dict[int, list[QuestionAnswer]] = defaultdict(list)
    for answer in session.info.pop(NEW_ANSWERS_KEY, []):
        answers_by_position[answer.orderposition_id].append(answer)
    for position in positions:
        set_committed_value(position, "order", order)
        set_committed_value(position, "answers", answers_by_position.get(position.id, []))
    if notify:
        kernel.log_action(
            session,
            order,
            "boxoffice.event.order.placed",
            actor=actor,
            data={
                "code": order.code,
                "total": str(total),
                "status": status,
                "send_email": draft.send_email,
                "positions": len(lines),
            },
        )
        # Plugins hear of the order inside its transaction: should the quota check below fail, what they wrote
        # (and any job they queued on commit) goes with it.
        kernel.plugins.for_event(event).order_placed(event=event, order=order, session=session)
        from boxoffice.kernel import invoicing  # imported here: the invoice service builds on this module

        invoicing.on_order_placed(kernel, session, order, settings)
    # Last: lock the quotas this order needs and count again with the order in place; the caller commits right
    # after, so the locks are held for one count and the commit.
    if quota_ids:
        try:
            quotas.verify(session, quota_ids)
        except quotas.QuotaExceeded as problem:
            raise _quota_error(problem, lines) from None
    return order


# --- checks of the order itself ---------------------------------------------------------------------------------


def _check_header(
    kernel: Kernel, session: Session, event: Event, draft: OrderDraft, settings: Settings, errors: _Errors
) -> None:
    if draft.status not in (None, STATUS_PENDING, STATUS_PAID):
        errors.field("status", 'Only "n" (pending) and "p" (paid) are allowed when creating an order.')
    if draft.status == STATUS_PAID and draft.require_approval:
        errors.field("require_approval", "An order that awaits approval cannot be paid.")
    if not draft.positions:
        errors.field("positions", "An order cannot be empty.")
    elif len(draft.positions) > MAX_POSITIONS:
        errors.field("positions", f"An order can have at most {MAX_POSITIONS} positions.")
    if draft.locale is not None and draft.locale not in (settings.get("locales") or []):
        errors.field("locale", f'"{draft.locale}" is not a valid choice.')
    if draft.tax_rounding_mode is not None and draft.tax_rounding_mode not in TAX_ROUNDING_MODES:
        errors.field("tax_rounding_mode", f'"{draft.tax_rounding_mode}" is not a valid choice.')
    if draft.use_gift_cards:
        errors.field("use_gift_cards", "Gift cards are not supported by this server.")
    if draft.email and not valid_email(draft.email):
        errors.field("email", "Enter a valid email address.")
    if draft.phone and not PHONE.match(draft.phone):
        errors.field("phone", "Enter a valid phone number.")
    for name, width in ORDER_WIDTHS.items():
        _check_width(getattr(draft, name), width, lambda message, name=name: errors.field(name, message))
    if draft.code is not None and not codes.CLIENT_ORDER_CODE.match(draft.code):
        errors.field("code", "Order codes may only contain A-Z (without O) and digits (without 1), at most 16.")
    for name in ("expires", "payment_date"):
        if not _representable(getattr(draft, name)):
            errors.field(name, "Datetime has wrong format. Use ISO 8601.")
    # Built-in channels exist for every organizer and cannot be deleted: no query for them.
    if draft.sales_channel not in BUILTIN_CHANNELS:
        channel = session.scalar(
            select(SalesChannel.id).where(
                SalesChannel.organizer_id == event.organizer_id, SalesChannel.identifier == draft.sales_channel
            )
        )
        if channel is None:
            errors.field("sales_channel", f'Unknown sales channel "{draft.sales_channel}".')
    if draft.payment_provider is not None and draft.payment_provider not in payment_providers(kernel, session, event):
        errors.field("payment_provider", f'The payment provider "{draft.payment_provider}" is not known.')
    if draft.payment_info is not None and not isinstance(_payment_info(draft.payment_info), dict):
        errors.field("payment_info", "Expected a dictionary of items.")
    if draft.invoice_address is not None:
        errors.nested("invoice_address", address_problems(kernel, draft.invoice_address))


def valid_email(value: str) -> bool:
    """A plausible e-mail address (one @, a dotted domain or localhost, no spaces, at most 254 characters)."""
    return len(value) <= 254 and EMAIL.match(value) is not None


def address_problems(kernel: Kernel, address: InvoiceAddressDraft) -> dict[str, list[str]]:
    """Field errors of an invoice address (empty when it is fine): name vs name parts, country and state codes,
    column widths, the invoice transmission type."""
    problems: dict[str, list[str]] = {}

    def report(name: str) -> Any:
        return lambda message: problems.setdefault(name, []).append(message)

    if address.name and address.name_parts:
        problems["name"] = ["Do not specify name if you specified name_parts."]
    _check_country_state(address.country, address.state, report("country"), report("state"))
    for name, width in ADDRESS_WIDTHS.items():
        _check_width(getattr(address, name), width, report(name))
    transmission = address.transmission_type or "email"
    if transmission != "email":
        known = {
            kind.identifier for _owner, kind in kernel.plugins.collect(kernel.plugins.hook.register_transmission_types)
        }
        if transmission not in known:
            problems["transmission_type"] = [f'"{transmission}" is not a valid choice.']
    return problems


def _check_country_state(country: str | None, state: str | None, country_error: Any, state_error: Any) -> None:
    code = (country or "").upper()
    if code and code not in COUNTRIES:
        country_error(f'"{country}" is not a valid choice.')
        return
    if not state:
        return
    if code not in STATE_COUNTRIES:
        state_error("States are only used for addresses in AU, BR, CA, CN, MY, MX and US.")
    elif not STATE.match(state.upper().removeprefix(f"{code}-")):
        state_error(f'"{state}" is not a valid choice.')


def _normal_state(country: str | None, state: str | None) -> str | None:
    if not state:
        return state
    return state.upper().removeprefix(f"{(country or '').upper()}-")


def _check_width(value: Any, width: int | None, report: Any) -> None:
    if width is not None and isinstance(value, str) and len(value) > width:
        report(f"Ensure this field has no more than {width} characters.")


def _representable(value: datetime | None) -> bool:
    """Whether a client's datetime can be turned into UTC (year 1 and 9999 with offsets cannot)."""
    if value is None:
        return True
    try:
        clock_utc(value)
    except OverflowError:
        return False
    return True


def _payment_info(info: dict[str, Any] | str | None) -> Any:
    if info is None:
        return {}
    if isinstance(info, str):
        try:
            return json.loads(info)
        except ValueError:
            return {"info": info}
    return info


def _invoice_address(draft: InvoiceAddressDraft) -> InvoiceAddress:
    """The address row to store (also what taxes are decided on, before the order exists)."""
    return InvoiceAddress(
        company=draft.company or "",
        is_business=draft.is_business,
        name_parts=name_parts(draft.name, draft.name_parts),
        street=draft.street or "",
        zipcode=draft.zipcode or "",
        city=draft.city or "",
        country=(draft.country or "").upper(),
        state=_normal_state(draft.country, draft.state) or "",
        internal_reference=draft.internal_reference or "",
        vat_id=draft.vat_id or "",
        vat_id_validated=draft.vat_id_validated,
        custom_field=draft.custom_field,
        transmission_type=draft.transmission_type or "email",
        transmission_info=draft.transmission_info,
    )


def _order_code(kernel: Kernel, session: Session, event: Event, draft: OrderDraft) -> str:
    """The client's code if free, else a new random one; unique across the organizer's events (pretix's rule:
    a code names one order of the organizer, whichever event)."""

    def taken(code: str) -> bool:
        found = session.scalar(
            select(Order.id)
            .join(Event, Event.id == Order.event_id)
            .where(Event.organizer_id == event.organizer_id, Order.code == code)
            .limit(1)
        )
        return found is not None

    if draft.code is not None:
        if taken(draft.code):
            raise OrderError.field("code", "This order code is already in use.")
        return draft.code
    for _attempt in range(CODE_ATTEMPTS):
        code = codes.order_code(kernel.config.order_code_length)
        if code != PREVIEW_CODE and not taken(code):
            return code
    raise OrderError("No free order code was found; try again or configure longer order codes.")


# --- the catalog --------------------------------------------------------------------------------------------------


def _load_catalog(session: Session, event: Event, draft: OrderDraft) -> _Catalog:
    positions = draft.positions
    catalog = _Catalog()
    catalog.items = {
        item.id: item
        for item in session.scalars(
            select(Item).where(Item.event_id == event.id, Item.id.in_({p.item for p in positions}))
        )
    }
    variation_ids = {p.variation for p in positions if p.variation is not None}
    if variation_ids:
        catalog.variations = {
            v.id: v for v in session.scalars(select(ItemVariation).where(ItemVariation.id.in_(variation_ids)))
        }
    subevent_ids = {p.subevent for p in positions if p.subevent is not None}
    if subevent_ids and event.has_subevents:
        catalog.subevents = set(
            session.scalars(select(SubEvent.id).where(SubEvent.event_id == event.id, SubEvent.id.in_(subevent_ids)))
        )
        if catalog.subevents and any(p.price is None for p in positions):
            _load_date_prices(session, catalog)
    rule_ids = {item.tax_rule_id for item in catalog.items.values() if item.tax_rule_id is not None}
    rule_ids |= {fee.tax_rule for fee in draft.fees if fee.tax_rule is not None}
    if rule_ids:
        catalog.rules = {
            rule.id: rule
            for rule in session.scalars(select(TaxRule).where(TaxRule.event_id == event.id, TaxRule.id.in_(rule_ids)))
        }
    voucher_codes = [p.voucher for p in positions if p.voucher]
    if voucher_codes:
        _load_voucher_facts(session, event, voucher_codes, catalog)
    question_ids = [a.question for p in positions for a in p.answers]
    if question_ids:
        catalog.questions = load_questions(session, event.id, question_ids)
        catalog.asked = {
            (question_id, item_id)
            for question_id, item_id in session.execute(
                select(question_items.c.question_id, question_items.c.item_id).where(
                    question_items.c.question_id.in_(set(catalog.questions))
                )
            )
        }
    secrets = {p.secret for p in positions if p.secret}
    if secrets:
        catalog.taken_secrets = set(
            session.scalars(
                select(OrderPosition.secret)
                .join(Order, Order.id == OrderPosition.order_id)
                .where(Order.event_id == event.id, OrderPosition.secret.in_(secrets))
            )
        )
    return catalog


def _load_date_prices(session: Session, catalog: _Catalog) -> None:
    """Prices of products on the event series' dates (``item_price_overrides``/``variation_price_overrides``)."""
    for subevent_id, item_id, price in session.execute(
        select(SubEventItem.subevent_id, SubEventItem.item_id, SubEventItem.price).where(
            SubEventItem.subevent_id.in_(catalog.subevents), SubEventItem.price.is_not(None)
        )
    ):
        catalog.item_prices[(subevent_id, item_id)] = Decimal(price)
    for subevent_id, variation_id, price in session.execute(
        select(
            SubEventItemVariation.subevent_id, SubEventItemVariation.variation_id, SubEventItemVariation.price
        ).where(SubEventItemVariation.subevent_id.in_(catalog.subevents), SubEventItemVariation.price.is_not(None))
    ):
        catalog.variation_prices[(subevent_id, variation_id)] = Decimal(price)


def _load_voucher_facts(session: Session, event: Event, wanted: list[str], catalog: _Catalog) -> None:
    catalog.vouchers = load_vouchers(session, event, wanted)
    quota_ids = {v.quota_id for v in catalog.vouchers.values() if v.quota_id is not None}
    if quota_ids:
        catalog.voucher_scopes = quota_scopes(
            session, list(session.scalars(select(Quota).where(Quota.id.in_(quota_ids))))
        )
    budgeted = {v.id: Decimal(v.budget) for v in catalog.vouchers.values() if v.budget is not None}
    if budgeted:
        used: dict[int, Any] = dict(
            session.execute(
                select(OrderPosition.voucher_id, func.coalesce(func.sum(OrderPosition.voucher_budget_use), 0))
                .join(Order, Order.id == OrderPosition.order_id)
                .where(
                    OrderPosition.voucher_id.in_(budgeted),
                    OrderPosition.canceled.is_(False),
                    Order.status.in_(QUOTA_HOLDING_STATUSES),
                )
                .group_by(OrderPosition.voucher_id)
            ).all()
        )
        catalog.budget_left = {vid: budget - Decimal(used.get(vid, 0)) for vid, budget in budgeted.items()}


def load_vouchers(session: Session, event: Event, wanted: Iterable[str]) -> dict[str, Voucher]:
    """The event's vouchers with these codes (case-insensitive), by upper-cased code."""
    upper = {code.upper() for code in wanted}
    if not upper:
        return {}
    found = session.scalars(select(Voucher).where(Voucher.event_id == event.id, func.upper(Voucher.code).in_(upper)))
    return {voucher.code.upper(): voucher for voucher in found}


def voucher_problem(
    session: Session,
    voucher: Voucher | None,
    item: Item,
    variation: ItemVariation | None,
    subevent: int | None,
    *,
    uses: int = 1,
    scopes: dict[int, QuotaScope] | None = None,
) -> str:
    """Why ``voucher`` cannot be redeemed for this product (``""`` if it can). ``uses`` counts this redemption and
    the ones before it in the same order; ``scopes`` are the voucher quotas' scopes if already loaded."""
    if voucher is None:
        return "Voucher with this code does not exist."
    if voucher.valid_until is not None and voucher.valid_until < clock.now():
        return "This voucher is expired."
    if voucher.redeemed + uses > voucher.max_usages:
        return "This voucher has already been redeemed the maximum number of times."
    if voucher.item_id is not None and voucher.item_id != item.id:
        return "This voucher is not valid for this product."
    if voucher.variation_id is not None and (variation is None or voucher.variation_id != variation.id):
        return "This voucher is not valid for this product variation."
    if voucher.subevent_id is not None and voucher.subevent_id != subevent:
        return "This voucher is not valid for this event date."
    if voucher.quota_id is not None:
        if scopes is None or voucher.quota_id not in scopes:
            quota = session.get(Quota, voucher.quota_id)
            scopes = quota_scopes(session, [quota]) if quota is not None else {}
        scope = scopes.get(voucher.quota_id)
        if scope is None or not scope.matches(item.id, variation.id if variation else None, subevent):
            return "This voucher is not valid for this product."
    return ""


# Kept for callers written against the first version of this module.
_load_vouchers = load_vouchers
_voucher_problem = voucher_problem


# --- positions ----------------------------------------------------------------------------------------------------


def _resolve_positions(
    session: Session,
    event: Event,
    draft: OrderDraft,
    address: InvoiceAddress | None,
    catalog: _Catalog,
    errors: _Errors,
    now: datetime,
) -> list[_Line]:
    positions = draft.positions
    _check_structure(positions, errors)
    voucher_uses: Counter[int] = Counter()
    secrets_seen: set[str] = set()
    zone = event_zone(event)
    lines: list[_Line] = []
    for index, position in enumerate(positions):

        def report(name: str, message: str, index: int = index) -> None:
            errors.position(index, name, message)

        item = catalog.items.get(position.item)
        if item is None:
            report("item", f'Invalid pk "{position.item}" - object does not exist.')
            continue
        variation = catalog.variations.get(position.variation) if position.variation is not None else None
        if position.variation is not None and (variation is None or variation.item_id != item.id):
            report("variation", "You cannot specify a variation that does not belong to the item.")
            continue
        if item.has_variations and variation is None:
            report("variation", "You should specify a variation for this item.")
            continue
        if event.has_subevents:
            if position.subevent is None:
                report("subevent", "You need to set a subevent.")
                continue
            if position.subevent not in catalog.subevents:
                report("subevent", f'Invalid pk "{position.subevent}" - object does not exist.')
                continue
        elif position.subevent is not None:
            report("subevent", "You cannot set a subevent for this event.")
            continue
        if position.seat is not None:
            report("seat", "The event has no seating plan.")
        if position.use_reusable_medium is not None:
            report("use_reusable_medium", "Reusable media are not supported by this server.")
        _check_attendee(position, report)
        if position.secret:
            if position.secret in secrets_seen or position.secret in catalog.taken_secrets:
                report("secret", "This ticket secret is already in use.")
            secrets_seen.add(position.secret)
        parent_index = position.addon_to - 1 if position.addon_to is not None else None
        if parent_index is not None and 0 <= parent_index < len(positions):
            parent = positions[parent_index]
            if parent.subevent != position.subevent:
                report("addon_to", "An add-on must be for the same date as the position it belongs to.")

        voucher = None
        if position.voucher:
            voucher = catalog.vouchers.get(position.voucher.upper())
            if voucher is not None:
                voucher_uses[voucher.id] += 1
            problem = voucher_problem(
                session,
                voucher,
                item,
                variation,
                position.subevent,
                uses=voucher_uses[voucher.id] if voucher is not None else 1,
                scopes=catalog.voucher_scopes,
            )
            if problem:
                report("voucher", problem)
                voucher = None
        rule = catalog.rules.get(item.tax_rule_id) if item.tax_rule_id is not None else None
        if rule is not None and decide(rule, address).blocked:
            report("item", "This product cannot be sold to the given invoice address.")
        if position.discount is not None and position.price is None:
            report("discount", "A discount can only be given together with an explicit price.")
        taxed, budget_use = _price(position, item, variation, voucher, rule, address, catalog, report)
        valid_from, valid_until = _validity(event, item, position, now, report)
        line = _Line(
            index,
            position,
            item,
            variation,
            position.subevent,
            voucher,
            taxed if taxed is not None else untaxed(ZERO),
            parent_index,
            valid_from,
            valid_until,
            budget_use,
        )
        _answers(line, catalog, zone, errors)
        if not errors.positions[index]:
            lines.append(line)
    return lines


def _check_structure(positions: Sequence[PositionDraft], errors: _Errors) -> None:
    """``positionid`` numbers all positions 1, 2, 3, … or none; an add-on names its parent's ``positionid`` and
    comes right after it (after the parent's earlier add-ons); add-ons have no add-ons of their own."""
    given = [p.positionid for p in positions]
    if any(value is not None for value in given) and given != list(range(1, len(positions) + 1)):
        errors.field("positions", "If you set positionid, all positions need consecutive ids starting at 1.")
        return
    numbered = bool(positions) and given[0] is not None
    for index, position in enumerate(positions):
        if position.addon_to is None:
            continue
        if not numbered:
            errors.position(index, "addon_to", "You need to set positionid on all positions to use addon_to.")
            continue
        parent = position.addon_to - 1
        if not 0 <= parent < index:
            errors.position(index, "addon_to", "The add-on must follow the position it belongs to.")
        elif positions[parent].addon_to is not None:
            errors.position(index, "addon_to", "An add-on cannot belong to another add-on.")
        elif any(positions[between].addon_to != position.addon_to for between in range(parent + 1, index)):
            errors.position(index, "addon_to", "Add-ons must directly follow the position they belong to.")


def _check_attendee(position: PositionDraft, report: Any) -> None:
    if position.attendee_name and position.attendee_name_parts:
        report("attendee_name", "Do not specify attendee_name if you specified attendee_name_parts.")
    if position.attendee_email and not valid_email(position.attendee_email):
        report("attendee_email", "Enter a valid email address.")
    for name, width in POSITION_WIDTHS.items():
        _check_width(getattr(position, name), width, lambda message, name=name: report(name, message))
    _check_country_state(
        position.country,
        position.state,
        lambda message: report("country", message),
        lambda message: report("state", message),
    )


def _catalog_price(catalog: _Catalog, item: Item, variation: ItemVariation | None, subevent: int | None) -> Decimal:
    """The list price: the most specific of date variation price, variation price, date item price, item price."""
    if variation is not None:
        if subevent is not None and (subevent, variation.id) in catalog.variation_prices:
            return catalog.variation_prices[(subevent, variation.id)]
        if variation.default_price is not None:
            return Decimal(variation.default_price)
    if subevent is not None and (subevent, item.id) in catalog.item_prices:
        return catalog.item_prices[(subevent, item.id)]
    return Decimal(item.default_price)


def _price(
    position: PositionDraft,
    item: Item,
    variation: ItemVariation | None,
    voucher: Voucher | None,
    rule: TaxRule | None,
    address: InvoiceAddress | None,
    catalog: _Catalog,
    report: Any,
) -> tuple[Taxed | None, Decimal | None]:
    """The position's taxed price and how much of its voucher's budget it uses.

    A price sent by the client is gross and taken as it is. Otherwise the list price (with the voucher's price
    mode, then the tax rule; net list prices get their tax added) is used; a voucher with a budget takes off at
    most what is left of its budget.
    """
    listed = _catalog_price(catalog, item, variation, position.subevent)
    budgeted = voucher is not None and voucher.budget is not None
    full = taxed_catalog_price(listed, rule, address) if budgeted else None
    if position.price is not None:
        problem = money_problem(position.price)
        if problem:
            report("price", problem)
            return None, None
        taxed = taxed_gross(Decimal(position.price), rule, address)
        if not budgeted:
            return taxed, None
        assert voucher is not None and full is not None
        use = max(ZERO, full.gross - taxed.gross)
        if use > catalog.budget_left[voucher.id]:
            report("voucher", "The voucher's remaining budget does not cover the discount of this price.")
            return None, None
        catalog.budget_left[voucher.id] -= use
        return taxed, use
    taxed = taxed_catalog_price(voucher_price(voucher, listed), rule, address)
    if not budgeted:
        return taxed, None
    assert voucher is not None and full is not None
    left = max(ZERO, catalog.budget_left[voucher.id])
    use = max(ZERO, full.gross - taxed.gross)
    if use > left:
        use = left
        taxed = taxed_gross(full.gross - left, rule, address)
    catalog.budget_left[voucher.id] -= use
    return taxed, use


def _validity(
    event: Event, item: Item, position: PositionDraft, now: datetime, report: Any
) -> tuple[datetime | None, datetime | None]:
    """The ticket's validity: as sent, or (both missing) from the item's validity settings."""
    for name in ("valid_from", "valid_until", "requested_valid_from"):
        if not _representable(getattr(position, name)):
            report(name, "Datetime has wrong format. Use ISO 8601.")
            return None, None
    if position.valid_from is not None or position.valid_until is not None:
        if position.requested_valid_from is not None:
            report("requested_valid_from", "Give either valid_from/valid_until or requested_valid_from.")
        valid_from = clock_utc(position.valid_from) if position.valid_from else None
        valid_until = clock_utc(position.valid_until) if position.valid_until else None
        if valid_from and valid_until and valid_until < valid_from:
            report("valid_until", "The end of the validity must not be before its start.")
        return valid_from, valid_until
    dynamic = item.validity_mode == "dynamic"
    if position.requested_valid_from is not None and not (dynamic and item.validity_dynamic_start_choice):
        report("requested_valid_from", "This product does not let the buyer choose when the ticket becomes valid.")
        return None, None
    if item.validity_mode == "fixed":
        return item.validity_fixed_from, item.validity_fixed_until
    if not dynamic:
        return None, None
    start = now
    if position.requested_valid_from is not None:
        start = clock_utc(position.requested_valid_from)
        limit = item.validity_dynamic_start_choice_day_limit
        if limit is not None and start > end_of_day(event, now + timedelta(days=limit)):
            report("requested_valid_from", f"The ticket cannot start more than {limit} days from now.")
            return None, None
    try:
        return start, dynamic_validity(event, item, start)
    except (OverflowError, ValueError):
        report("valid_until", "The product's validity period cannot be computed.")
        return None, None


def _answers(line: _Line, catalog: _Catalog, zone: tzinfo, errors: _Errors) -> None:
    seen: set[int] = set()
    count = len(line.draft.answers)
    for number, answer in enumerate(line.draft.answers):

        def report(name: str, message: str, number: int = number) -> None:
            errors.answer(line.index, number, count, name, message)

        question = catalog.questions.get(answer.question)
        if question is None:
            report("question", f'Invalid pk "{answer.question}" - object does not exist.')
            continue
        if (question.id, line.item.id) not in catalog.asked:
            report("question", "This question is not asked for this product.")
            continue
        if question.id in seen:
            report("question", "This question is answered more than once.")
            continue
        seen.add(question.id)
        if is_empty(answer):
            continue
        try:
            text, options = normalise_answer(question, answer, zone=zone)
        except AnswerProblem as problem:
            report("options" if question.type in CHOICE_TYPES else "answer", str(problem))
            continue
        line.answers.append((question.id, text, options))


def _needs_approval(line: _Line, catalog: _Catalog, address: InvoiceAddress | None) -> bool:
    if line.item.require_approval or (line.variation is not None and line.variation.require_approval):
        return True
    rule = catalog.rules.get(line.item.tax_rule_id) if line.item.tax_rule_id is not None else None
    return rule is not None and decide(rule, address).require_approval


def _check_capacity(session: Session, event: Event, lines: Sequence[_Line]) -> list[int]:
    """Pre-check the quotas (lock-free) and return the ids to verify once the order is written.

    A voucher allowed to ignore quotas takes none. A voucher that blocks quota already holds its unit: it is not
    counted again before the order exists, but its quotas are verified afterwards like any other.
    """
    counted = [line for line in lines if line.voucher is None or not line.voucher.allow_ignore_quota]
    checked = [line for line in counted if line.voucher is None or not line.voucher.block_quota]
    blocked = [line for line in counted if line.voucher is not None and line.voucher.block_quota]
    try:
        quota_ids = set(quotas.check_capacity(session, event.id, [line.key for line in checked])) if checked else set()
    except quotas.NoQuota as problem:
        raise OrderError.position(checked[problem.index].index, len(lines), "item", problem.detail) from None
    except quotas.QuotaExceeded as problem:
        raise _quota_error(problem, lines) from None
    if blocked:
        for found in quotas.quotas_by_product(session, event.id, [line.key for line in blocked]).values():
            quota_ids.update(quota.id for quota in found)
    return sorted(quota_ids)


def _quota_error(problem: quotas.QuotaExceeded, lines: Sequence[_Line]) -> OrderError:
    """Point the quota error at the first position that counts against the exhausted quota."""
    quota = problem.quota
    item_ids = {item.id for item in quota.items}
    index = next(
        (line.index for line in lines if line.item.id in item_ids and line.subevent_id == quota.subevent_id),
        next((line.index for line in lines if line.item.id in item_ids), 0),
    )
    return OrderError.position(index, len(lines), "item", problem.detail)


# --- fees ---------------------------------------------------------------------------------------------------------


def _resolve_fees(
    draft: OrderDraft, lines: Sequence[_Line], address: InvoiceAddress | None, catalog: _Catalog, errors: _Errors
) -> list[_Fee]:
    resolved: list[_Fee] = []
    product_total = sum((line.taxed.gross for line in lines), ZERO)
    for index, fee in enumerate(draft.fees):
        before = any(errors.fees[index])
        if fee.fee_type not in FEE_TYPES:
            errors.fee(index, "fee_type", f'"{fee.fee_type}" is not a valid choice.')
        problem = money_problem(fee.value, negative=True)
        if problem:
            errors.fee(index, "value", problem)
        for name, width in FEE_WIDTHS.items():
            _check_width(
                getattr(fee, name), width, lambda message, name=name, index=index: errors.fee(index, name, message)
            )
        rule = None
        if fee.tax_rule is not None:
            rule = catalog.rules.get(fee.tax_rule)
            if rule is None:
                errors.fee(index, "tax_rule", f'Invalid pk "{fee.tax_rule}" - object does not exist.')
        if any(errors.fees[index]) or before:
            continue
        value = Decimal(fee.value)
        if fee.treat_value_as_percentage:
            value = round_money(product_total * value / 100)
            if money_problem(value, negative=True):
                errors.fee(index, "value", "This percentage of the products' total is too large.")
                continue
        if fee.split_taxes_like_products and product_total:
            resolved.extend(_split_fee(fee, value, lines))
            continue
        resolved.append(_Fee(fee, taxed_gross(value, rule, address) if rule else untaxed(value)))
    return resolved


def _split_fee(fee: FeeDraft, value: Decimal, lines: Sequence[_Line]) -> list[_Fee]:
    """Tax a fee like the products it comes with: one fee per tax rate, in proportion to their gross totals."""
    by_rate: dict[tuple[Decimal, str | None, int | None], Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        by_rate[(line.taxed.rate, line.taxed.code, line.taxed.rule_id)] += line.taxed.gross
    total = sum(by_rate.values(), ZERO)
    parts: list[_Fee] = []
    remaining = value
    keys = [key for key in by_rate if by_rate[key]]
    for position, (rate, code, rule_id) in enumerate(keys):
        share = remaining if position == len(keys) - 1 else round_money(value * by_rate[(rate, code, rule_id)] / total)
        remaining -= share
        tax = round_money(share * rate / (100 + rate)) if rate else ZERO
        parts.append(_Fee(fee, Taxed(share, tax, rate, code, rule_id)))
    return parts


# --- writing ------------------------------------------------------------------------------------------------------


def _write_positions(kernel: Kernel, session: Session, order: Order, lines: Sequence[_Line]) -> list[OrderPosition]:
    rows: list[OrderPosition] = []
    for number, line in enumerate(lines, start=1):
        draft = line.draft
        parts = name_parts(draft.attendee_name, draft.attendee_name_parts)
        display = format_name(parts)
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
            # Only for search and sorting: the API shows the name built from the parts.
            attendee_name_cached=display[:NAME_WIDTH] if display else None,
            attendee_email=draft.attendee_email or None,
            company=draft.company,
            street=draft.street,
            zipcode=draft.zipcode,
            city=draft.city,
            country=draft.country.upper() if draft.country else draft.country,
            state=_normal_state(draft.country, draft.state),
            voucher_id=line.voucher.id if line.voucher else None,
            voucher_budget_use=line.budget_use,
            secret=draft.secret or codes.ticket_secret(kernel.config.ticket_secret_length),
            web_secret=codes.web_secret(),
            pseudonymization_id=codes.pseudonymization_id(),
            valid_from=line.valid_from,
            valid_until=line.valid_until,
            discount_id=draft.discount,
        )
        rows.append(row)
    # Parents first, so add-ons can point at their ids without a second round of updates.
    session.add_all([row for row, line in zip(rows, lines, strict=True) if line.parent_index is None])
    if any(line.parent_index is not None for line in lines):
        session.flush()
        for row, line in zip(rows, lines, strict=True):
            if line.parent_index is not None:
                row.addon_to_id = rows[line.parent_index].id
                session.add(row)
    session.flush()
    answers = [
        QuestionAnswer(orderposition_id=row.id, question_id=question_id, answer=text, option_ids=options)
        for line, row in zip(lines, rows, strict=True)
        for question_id, text, options in line.answers
    ]
    session.add_all(answers)
    session.info[NEW_ANSWERS_KEY] = answers
    return rows


def _redeem_vouchers(session: Session, lines: Sequence[_Line], positions: Sequence[OrderPosition]) -> None:
    """Take the vouchers' uses (in id order, each under its row lock until commit, so concurrent buyers and carts
    cannot both get its last use or its budget); see :mod:`boxoffice.kernel.orders.vouchers`."""
    uses: Counter[int] = Counter()
    vouchers: dict[int, Voucher] = {}
    for line in lines:
        if line.voucher is not None:
            uses[line.voucher.id] += 1
            vouchers[line.voucher.id] = line.voucher
    now = clock.now()
    for voucher_id in sorted(uses):
        index = next(line.index for line in lines if line.voucher is not None and line.voucher.id == voucher_id)
        if not take_uses(session, voucher_id, uses[voucher_id], now=now):
            raise OrderError.position(
                index, len(lines), "voucher", "This voucher has already been redeemed the maximum number of times."
            )
        if budget_exceeded(session, vouchers[voucher_id]):
            raise OrderError.position(index, len(lines), "voucher", "The voucher's budget has been used up.")
