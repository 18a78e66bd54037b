"""Issuing invoices from orders, cancelling them, reissuing after changes and rendering their files.

Every function works in the caller's unit of work and audit-logs ``boxoffice.event.order.invoice.<action>`` on the
order. Issuing takes the next number of the invoice's prefix (see :mod:`.numbering`), so it waits for concurrent
issuers of the same prefix until their transactions end: callers keep those transactions short.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.hookspecs.providers import InvoiceRenderer
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.i18n import gettext, localize, use_locale
from boxoffice.kernel.invoicing.numbering import format_number, next_number
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.invoices import Invoice, InvoiceLine
from boxoffice.kernel.models.items import Item, ItemVariation
from boxoffice.kernel.models.orders import STATUS_CANCELED, STATUS_PAID, Order
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.placement import format_name

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.settings import Settings

logger = logging.getLogger(__name__)

ACTION = "boxoffice.event.order.invoice."
RENDER_JOB = "core.render_invoice"
ZERO = Decimal("0.00")
# When invoices are issued by themselves (setting ``invoice_generate``).
GENERATE_NEVER, GENERATE_ADMIN, GENERATE_USER, GENERATE_PLACED, GENERATE_PAID = (
    "False",
    "admin",
    "user",
    "True",
    "paid",
)
GENERATE_CHOICES = (GENERATE_NEVER, GENERATE_ADMIN, GENERATE_USER, GENERATE_PLACED, GENERATE_PAID)
FEE_LABELS = {
    "payment": "Payment fee",
    "shipping": "Shipping fee",
    "service": "Service fee",
    "cancellation": "Cancellation fee",
    "insurance": "Insurance",
    "late": "Late fee",
    "other": "Other fees",
    "giftcard": "Gift card",
}


# --- what an order's invoice says --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineData:
    """One line as the order says it now; compared with an issued invoice to tell whether a reissue is due."""

    description: str
    gross_value: Decimal
    tax_value: Decimal
    tax_rate: Decimal
    tax_name: str
    tax_code: str | None
    item_id: int | None = None
    variation_id: int | None = None
    subevent_id: int | None = None
    fee_type: str | None = None
    fee_internal_type: str | None = None
    period_start: Any = None
    period_end: Any = None
    event_location: str | None = None
    attendee_name: str | None = None

    def key(self) -> tuple[Any, ...]:
        return (self.description, self.gross_value, self.tax_value, self.tax_rate, self.fee_type, self.item_id)


def invoice_locale(settings: Settings, order: Order) -> str:
    chosen = str(settings.get("invoice_language") or "__user__")
    return order.locale if chosen == "__user__" else chosen


def country_name(code: str, locale: str) -> str:
    if not code:
        return ""
    try:
        return Locale.parse(locale.replace("_", "-"), sep="-").territories.get(code.upper(), code)
    except (ValueError, UnknownLocaleError):
        return code


def _lines(session: Session, order: Order, locale: str) -> list[LineData]:
    """The order's live positions and fees as invoice lines (canceled ones are on no invoice)."""
    positions = [position for position in order.positions if not position.canceled]
    fees = [fee for fee in order.fees if not fee.canceled]
    item_ids = {position.item_id for position in positions}
    variation_ids = {position.variation_id for position in positions if position.variation_id}
    subevent_ids = {position.subevent_id for position in positions if position.subevent_id}
    rule_ids = {row.tax_rule_id for row in [*positions, *fees] if row.tax_rule_id}
    items = {row.id: row for row in session.scalars(select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
    variations = (
        {row.id: row for row in session.scalars(select(ItemVariation).where(ItemVariation.id.in_(variation_ids)))}
        if variation_ids
        else {}
    )
    subevents = (
        {row.id: row for row in session.scalars(select(SubEvent).where(SubEvent.id.in_(subevent_ids)))}
        if subevent_ids
        else {}
    )
    rules = (
        {row.id: row for row in session.scalars(select(TaxRule).where(TaxRule.id.in_(rule_ids)))} if rule_ids else {}
    )
    event = order.event

    def tax_name(rule_id: int | None) -> str:
        rule = rules.get(rule_id) if rule_id else None
        return localize(rule.name, locale) if rule is not None else ""

    result: list[LineData] = []
    for position in positions:
        item = items.get(position.item_id)
        description = localize(item.name, locale) if item is not None else ""
        variation = variations.get(position.variation_id) if position.variation_id else None
        if variation is not None:
            description += f" - {localize(variation.value, locale)}"
        subevent = subevents.get(position.subevent_id) if position.subevent_id else None
        moment = subevent or event
        if subevent is not None:
            description += f" ({localize(subevent.name, locale)})"
        result.append(
            LineData(
                description=description,
                gross_value=position.price,
                tax_value=position.tax_value,
                tax_rate=position.tax_rate,
                tax_name=tax_name(position.tax_rule_id),
                tax_code=position.tax_code,
                item_id=position.item_id,
                variation_id=position.variation_id,
                subevent_id=position.subevent_id,
                period_start=moment.date_from,
                period_end=moment.date_to or moment.date_from,
                event_location=localize(moment.location, locale) or None,
                attendee_name=position.attendee_name_cached or format_name(position.attendee_name_parts) or None,
            )
        )
    for fee in fees:
        label = FEE_LABELS.get(fee.fee_type, fee.fee_type)
        text = gettext(label, locale)
        if fee.description:
            text += f" - {fee.description}"
        result.append(
            LineData(
                description=text,
                gross_value=fee.value,
                tax_value=fee.tax_value,
                tax_rate=fee.tax_rate,
                tax_name=tax_name(fee.tax_rule_id),
                tax_code=fee.tax_code,
                fee_type=fee.fee_type,
                fee_internal_type=fee.internal_type or None,
            )
        )
    return result


def _prefix(settings: Settings, event: Event, *, cancellation: bool) -> str:
    prefix = str(settings.get("invoice_numbers_prefix") or "").strip() or f"{event.slug.upper()}-"
    if cancellation:
        prefix = str(settings.get("invoice_numbers_prefix_cancellations") or "").strip() or prefix
    return prefix


def _assign_number(session: Session, settings: Settings, invoice: Invoice, event: Event) -> None:
    prefix = _prefix(settings, event, cancellation=invoice.is_cancellation)
    length = int(settings.get("invoice_numbers_counter_length") or 5)
    number = format_number(next_number(session, event.organizer_id, prefix), length)
    invoice.prefix, invoice.invoice_no, invoice.full_invoice_no = prefix, number, f"{prefix}{number}"


def _recipient(invoice: Invoice, order: Order, locale: str) -> None:
    address = order.invoice_address
    if address is None:
        invoice.invoice_to_is_business = False
        invoice.transmission_type = "email"
        return
    name = format_name(address.name_parts) or ""
    invoice.invoice_to_is_business = address.is_business
    invoice.invoice_to_company = address.company or ""
    invoice.invoice_to_name = name
    invoice.invoice_to_street = address.street or ""
    invoice.invoice_to_zipcode = address.zipcode or ""
    invoice.invoice_to_city = address.city or ""
    invoice.invoice_to_state = address.state or None
    invoice.invoice_to_country = address.country or ""
    invoice.invoice_to_vat_id = address.vat_id or ""
    invoice.internal_reference = address.internal_reference or ""
    invoice.custom_field = address.custom_field
    invoice.invoice_to_transmission_info = dict(address.transmission_info or {})
    invoice.transmission_type = address.transmission_type or "email"
    town = " ".join(part for part in (address.zipcode, address.city) if part)
    lines = [address.company, name, address.street, town, country_name(address.country, locale)]
    if address.vat_id:
        lines.append(f"VAT-ID: {address.vat_id}")
    invoice.invoice_to = "\n".join(line for line in lines if line)


def _sender(invoice: Invoice, settings: Settings, event: Event) -> None:
    invoice.invoice_from_name = str(settings.get("invoice_address_from_name") or event.organizer.name)
    invoice.invoice_from = str(settings.get("invoice_address_from") or "")
    invoice.invoice_from_zipcode = str(settings.get("invoice_address_from_zipcode") or "")
    invoice.invoice_from_city = str(settings.get("invoice_address_from_city") or "")
    invoice.invoice_from_state = str(settings.get("invoice_address_from_state") or "")
    invoice.invoice_from_country = str(settings.get("invoice_address_from_country") or "").upper()
    invoice.invoice_from_tax_id = str(settings.get("invoice_address_from_tax_id") or "")
    invoice.invoice_from_vat_id = str(settings.get("invoice_address_from_vat_id") or "")


def _payment_texts(kernel: Kernel, session: Session, invoice: Invoice, order: Order, locale: str) -> None:
    from boxoffice.kernel.orders.providers import payment_providers

    if order.status == STATUS_PAID:
        invoice.payment_provider_stamp = gettext("paid", locale)
        return
    providers = payment_providers(kernel, session, order.event)
    open_payments = [payment for payment in order.payments if payment.state in ("created", "pending")]
    for payment in reversed(open_payments):
        provider = providers.get(payment.provider)
        if provider is not None:
            with use_locale(locale):
                invoice.payment_provider_text = provider.payment_pending_instructions(payment) or ""
            return


def _new_invoice(kernel: Kernel, session: Session, order: Order, settings: Settings, locale: str) -> Invoice:
    event = order.event
    invoice = Invoice(
        organizer_id=event.organizer_id,
        event_id=event.id,
        order_id=order.id,
        date=clock.now().astimezone(_zone(event)).date(),
        locale=locale,
        currency=event.currency,
        transmission_status="pending",
        transmission_info={},
        invoice_to_transmission_info={},
    )
    _sender(invoice, settings, event)
    _recipient(invoice, order, locale)
    invoice.introductory_text = localize(settings.get("invoice_introductory_text"), locale)
    invoice.additional_text = localize(settings.get("invoice_additional_text"), locale)
    invoice.footer_text = localize(settings.get("invoice_footer_text"), locale)
    return invoice


def _zone(event: Event) -> Any:
    from boxoffice.kernel.orders.lifecycle import event_zone

    return event_zone(event)


def _add_lines(session: Session, invoice: Invoice, lines: Sequence[LineData], sign: int = 1) -> None:
    for number, line in enumerate(lines, start=1):
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                position=number,
                description=line.description,
                item_id=line.item_id,
                variation_id=line.variation_id,
                subevent_id=line.subevent_id,
                fee_type=line.fee_type,
                fee_internal_type=line.fee_internal_type,
                period_start=line.period_start,
                period_end=line.period_end,
                event_location=line.event_location,
                attendee_name=line.attendee_name,
                gross_value=sign * line.gross_value,
                tax_value=sign * line.tax_value,
                tax_rate=line.tax_rate,
                tax_name=line.tax_name,
                tax_code=line.tax_code,
            )
        )


def _stored_lines(invoice: Invoice) -> list[LineData]:
    return [
        LineData(
            description=line.description,
            gross_value=line.gross_value,
            tax_value=line.tax_value,
            tax_rate=line.tax_rate,
            tax_name=line.tax_name,
            tax_code=line.tax_code,
            item_id=line.item_id,
            variation_id=line.variation_id,
            subevent_id=line.subevent_id,
            fee_type=line.fee_type,
            fee_internal_type=line.fee_internal_type,
            period_start=line.period_start,
            period_end=line.period_end,
            event_location=line.event_location,
            attendee_name=line.attendee_name,
        )
        for line in invoice.lines
    ]


# --- queries -----------------------------------------------------------------------------------------------------


def order_invoices(session: Session, order: Order) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.order_id == order.id)
            .order_by(Invoice.id)
            .options(selectinload(Invoice.lines))
        )
    )


def active_invoice(session: Session, order: Order) -> Invoice | None:
    """The order's latest invoice that no cancellation document refers to, if any."""
    invoices = order_invoices(session, order)
    canceled = {invoice.refers_id for invoice in invoices if invoice.is_cancellation}
    live = [invoice for invoice in invoices if not invoice.is_cancellation and invoice.id not in canceled]
    return live[-1] if live else None


def invoice_qualified(order: Order, settings: Settings) -> bool:
    """Whether the order may get an invoice at all: not canceled, and either not free or free ones are wanted."""
    if order.status == STATUS_CANCELED:
        return False
    if order.total == ZERO and not settings.get("invoice_include_free"):
        return False
    return any(not position.canceled for position in order.positions) or any(not fee.canceled for fee in order.fees)


# --- issuing -----------------------------------------------------------------------------------------------------


def _lock_order(session: Session, order: Order) -> None:
    """Invoices of one order are issued one at a time (two callers must not both see "no invoice yet")."""
    from boxoffice.kernel.orders.payments import lock_order

    lock_order(session, order)


def issue_invoice(
    kernel: Kernel, session: Session, order: Order, *, actor: Actor, transmit: bool = False, check: bool = True
) -> Invoice:
    """Issue a new invoice for the order as it is now; refused (400) when it has a live invoice or none is
    possible. ``transmit`` starts the transmission once the transaction commits (automatic issuing does; an invoice
    issued on request waits in ``pending`` for the ``transmit`` action)."""
    settings = kernel.settings_for(session, event=order.event)
    if check:
        _lock_order(session, order)
        if active_invoice(session, order) is not None:
            raise OrderError("An invoice for this order already exists.")
        if not invoice_qualified(order, settings):
            raise OrderError("No invoice can be issued for this order (it is canceled or free).")
    locale = invoice_locale(settings, order)
    invoice = _new_invoice(kernel, session, order, settings, locale)
    _payment_texts(kernel, session, invoice, order, locale)
    # The number is taken last: the counter row stays locked from here to the commit.
    _assign_number(session, settings, invoice, order.event)
    session.add(invoice)
    session.flush()
    _add_lines(session, invoice, _lines(session, order, locale))
    session.flush()
    session.refresh(invoice, ["lines"])
    _issued(kernel, session, order, invoice, "created", actor, transmit=transmit)
    return invoice


def cancel_invoice(
    kernel: Kernel, session: Session, invoice: Invoice, *, actor: Actor, transmit: bool = False
) -> Invoice:
    """Issue the cancellation document of ``invoice``: the same lines with negated amounts, referring to it, so
    the two add up to zero. Refused (400) for a cancellation document or an invoice already canceled."""
    order = invoice.order
    _lock_order(session, order)
    if invoice.is_cancellation:
        raise OrderError("A cancellation document cannot be canceled.")
    if session.scalar(select(Invoice.id).where(Invoice.refers_id == invoice.id, Invoice.is_cancellation)) is not None:
        raise OrderError("This invoice has already been canceled.")
    settings = kernel.settings_for(session, event=order.event)
    cancellation = _new_invoice(kernel, session, order, settings, invoice.locale)
    # The recipient and sender are those of the canceled document, not whatever the order says now.
    for column in [column.key for column in Invoice.__table__.columns]:
        if column.startswith(("invoice_to", "invoice_from")) or column in ("custom_field", "internal_reference"):
            setattr(cancellation, column, getattr(invoice, column))
    cancellation.is_cancellation = True
    cancellation.refers_id = invoice.id
    cancellation.transmission_type = invoice.transmission_type
    _assign_number(session, settings, cancellation, order.event)
    session.add(cancellation)
    session.flush()
    _add_lines(session, cancellation, _stored_lines(invoice), sign=-1)
    session.flush()
    session.refresh(cancellation, ["lines"])
    _issued(kernel, session, order, cancellation, "canceled", actor, transmit=transmit, refers=invoice.full_invoice_no)
    return cancellation


def reissue_invoice(
    kernel: Kernel, session: Session, invoice: Invoice, *, actor: Actor, transmit: bool = False
) -> Invoice:
    """Cancel ``invoice`` and issue a new one from the order as it is now (after changes of the order)."""
    order = invoice.order
    cancel_invoice(kernel, session, invoice, actor=actor, transmit=transmit)
    settings = kernel.settings_for(session, event=order.event)
    if not invoice_qualified(order, settings):
        raise OrderError("The invoice was canceled, but the order no longer qualifies for a new one.")
    return issue_invoice(kernel, session, order, actor=actor, check=False, transmit=transmit)


def regenerate_invoice(kernel: Kernel, session: Session, invoice: Invoice, *, actor: Actor) -> None:
    """Render the invoice's file again (after layout or renderer changes); its content stays as issued."""
    render_invoice(kernel, session, invoice)
    kernel.log_action(
        session, invoice.order, ACTION + "regenerated", actor=actor, data={"invoice": invoice.full_invoice_no}
    )


def _issued(
    kernel: Kernel,
    session: Session,
    order: Order,
    invoice: Invoice,
    action: str,
    actor: Actor,
    *,
    transmit: bool,
    **data: Any,
) -> None:
    from boxoffice.kernel.invoicing import transmission

    kernel.log_action(session, order, ACTION + action, actor=actor, data={"invoice": invoice.full_invoice_no, **data})
    kernel.plugins.for_event(order.event).invoice_issued(event=order.event, invoice=invoice, session=session)
    kernel.jobs.enqueue_on_commit(session, RENDER_JOB, invoice_id=invoice.id)
    if transmit:
        transmission.start(kernel, session, invoice)


# --- automatic issuing -------------------------------------------------------------------------------------------


def _auto(
    kernel: Kernel, session: Session, order: Order, moments: tuple[str, ...], settings: Settings | None = None
) -> None:
    settings = settings or kernel.settings_for(session, event=order.event)
    if str(settings.get("invoice_generate")) not in moments or not invoice_qualified(order, settings):
        return
    if active_invoice(session, order) is None:
        issue_invoice(kernel, session, order, actor=Actor.system(), check=False, transmit=True)


def on_order_placed(kernel: Kernel, session: Session, order: Order, settings: Settings | None = None) -> None:
    """``invoice_generate`` ``True``: every order gets its invoice when it is placed (``settings``: the event's,
    when the caller has them loaded already)."""
    _auto(kernel, session, order, (GENERATE_PLACED,), settings)


def on_order_paid(kernel: Kernel, session: Session, order: Order) -> None:
    """``invoice_generate`` ``paid`` (or ``True`` for an order placed before that was set): issue once paid."""
    _auto(kernel, session, order, (GENERATE_PAID, GENERATE_PLACED))


def on_order_canceled(kernel: Kernel, session: Session, order: Order) -> None:
    """A canceled order's invoice is canceled; with a cancellation fee left the fee gets an invoice of its own."""
    invoice = active_invoice(session, order)
    if invoice is None:
        return
    cancel_invoice(kernel, session, invoice, actor=Actor.system(), transmit=True)
    settings = kernel.settings_for(session, event=order.event)
    if invoice_qualified(order, settings):
        issue_invoice(kernel, session, order, actor=Actor.system(), check=False, transmit=True)


def on_order_changed(kernel: Kernel, session: Session, order: Order) -> None:
    """Reissue the live invoice when the order's lines no longer match it (changed products, prices, fees)."""
    invoice = active_invoice(session, order)
    if invoice is None:
        return
    session.refresh(order, ["positions", "fees"])
    current = [line.key() for line in _lines(session, order, invoice.locale)]
    if current != [line.key() for line in _stored_lines(invoice)]:
        reissue_invoice(kernel, session, invoice, actor=Actor.system(), transmit=True)


# --- files -------------------------------------------------------------------------------------------------------


def renderers(kernel: Kernel, session: Session, event: Event) -> dict[str, InvoiceRenderer]:
    """The renderers the plugins active on ``event`` offer, built with the event's settings, by identifier."""
    settings = kernel.settings_for(session, event=event)
    found: dict[str, InvoiceRenderer] = {}
    for _owner, renderer_class in kernel.plugins.for_event(event).collect("register_invoice_renderers", event=event):
        if isinstance(renderer_class, type) and issubclass(renderer_class, InvoiceRenderer):
            found.setdefault(renderer_class.identifier, renderer_class(event, settings))
    return found


class NoRenderer(OrderError):
    """No invoice renderer is installed and active for the event."""


def render_invoice(kernel: Kernel, session: Session, invoice: Invoice) -> None:
    """Render the invoice with the event's chosen renderer (or the only one there is) and store the file."""
    event = invoice.event
    available = renderers(kernel, session, event)
    chosen = str(kernel.settings_for(session, event=event).get("invoice_renderer") or "")
    renderer = available.get(chosen) or next(iter(available.values()), None)
    if renderer is None:
        raise NoRenderer("No invoice renderer is available for this event.")
    with use_locale(invoice.locale):
        name, content_type, content = renderer.generate(invoice)
    invoice.renderer = renderer.identifier
    invoice.file_name, invoice.file_content_type, invoice.file_content = name, content_type, content
    session.flush()


def invoice_file(kernel: Kernel, session: Session, invoice: Invoice) -> tuple[str, str, bytes]:
    """The stored file, rendered now if it is missing (transmissions need it right away)."""
    if invoice.file_content is None:
        render_invoice(kernel, session, invoice)
    assert invoice.file_name and invoice.file_content_type and invoice.file_content is not None
    return invoice.file_name, invoice.file_content_type, invoice.file_content


def render_invoice_job(context: Any, invoice_id: int) -> str:
    """Job ``core.render_invoice``: render a newly issued (or regenerated) invoice's file."""
    kernel: Kernel = context.kernel
    with context.session() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            return "gone"
        if invoice.file_content is not None:
            return "already rendered"
        render_invoice(kernel, session, invoice)
        return invoice.file_name or ""


__all__ = [
    "ACTION",
    "GENERATE_CHOICES",
    "NoRenderer",
    "active_invoice",
    "cancel_invoice",
    "invoice_file",
    "invoice_qualified",
    "issue_invoice",
    "on_order_canceled",
    "on_order_changed",
    "on_order_paid",
    "on_order_placed",
    "order_invoices",
    "regenerate_invoice",
    "reissue_invoice",
    "render_invoice",
    "render_invoice_job",
    "renderers",
]
