"""Invoices (``…/invoices/``): the event and organizer lists with pretix's filters, one invoice by number, its PDF
(``409`` until rendered), and the actions ``regenerate`` (render the file again), ``reissue`` (cancel and issue a
new one from the order as it is now), ``transmit`` (pending invoices only) and ``retransmit``; plus the order action
``create_invoice``. Invoices are never changed through the API: the service refuses it (see ``docs/invoices.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import selectinload, undefer

from boxoffice.apps.api.errors import ApiError, FieldErrors, not_found
from boxoffice.apps.api.resources.orders import (
    READ_PERMISSIONS,
    WRITE_PERMISSION,
    load_order,
    require_read,
    visible_events,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, money, parse_bool
from boxoffice.kernel import invoicing
from boxoffice.kernel.invoicing import transmission
from boxoffice.kernel.invoicing.service import ACTION, RENDER_JOB, NoRenderer
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.invoices import Invoice, InvoiceLine
from boxoffice.kernel.models.orders import Order

EVENT_BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/invoices/"
ORGANIZER_BASE = "/api/v1/organizers/{organizer:str}/invoices/"
DETAIL = EVENT_BASE + "{number:str}/"
ORDERING: dict[str, ColumnElement[Any]] = {"nr": Invoice.full_invoice_no, "date": Invoice.date}
DEFAULT_ORDERING = (Invoice.full_invoice_no, Invoice.id)


class InvoiceLineOut(msgspec.Struct):
    position: int
    description: str
    item: int | None
    variation: int | None
    subevent: int | None
    fee_type: str | None
    fee_internal_type: str | None
    period_start: datetime | None
    period_end: datetime | None
    event_date_from: datetime | None
    event_date_to: datetime | None
    event_location: str | None
    attendee_name: str | None
    gross_value: Decimal
    tax_value: Decimal
    tax_name: str
    tax_code: str | None
    tax_rate: Decimal


class InvoiceOut(msgspec.Struct):
    number: str
    event: str
    order: str
    is_cancellation: bool
    invoice_from_name: str
    invoice_from: str
    invoice_from_zipcode: str
    invoice_from_city: str
    invoice_from_state: str
    invoice_from_country: str
    invoice_from_tax_id: str
    invoice_from_vat_id: str
    invoice_to: str
    invoice_to_is_business: bool | None
    invoice_to_company: str
    invoice_to_name: str
    invoice_to_street: str
    invoice_to_zipcode: str
    invoice_to_city: str
    invoice_to_state: str | None
    invoice_to_country: str
    invoice_to_vat_id: str
    invoice_to_beneficiary: str
    invoice_to_transmission_info: dict[str, Any]
    custom_field: str | None
    date: date
    refers: str | None
    locale: str
    introductory_text: str
    internal_reference: str
    additional_text: str
    payment_provider_text: str
    payment_provider_stamp: str | None
    footer_text: str
    lines: list[InvoiceLineOut]
    foreign_currency_display: str | None
    foreign_currency_rate: Decimal | None
    foreign_currency_rate_date: date | None
    transmission_type: str
    transmission_provider: str | None
    transmission_status: str
    transmission_date: datetime | None


# --- loading and shaping -------------------------------------------------------------------------------------------


class _Shaper:
    """Event slugs, order codes and referred numbers of a page, loaded in one query each."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.events: dict[int, str] = {}
        self.orders: dict[int, str] = {}
        self.numbers: dict[int, str] = {}

    def prepare(self, rows: Sequence[Invoice]) -> None:
        session = self.call.session
        if wanted := {row.event_id for row in rows} - set(self.events):
            self.events.update(dict(session.execute(select(Event.id, Event.slug).where(Event.id.in_(wanted))).all()))
        if wanted := {row.order_id for row in rows} - set(self.orders):
            self.orders.update(dict(session.execute(select(Order.id, Order.code).where(Order.id.in_(wanted))).all()))
        referred = {row.refers_id for row in rows if row.refers_id} - set(self.numbers)
        if referred:
            found = session.execute(select(Invoice.id, Invoice.full_invoice_no).where(Invoice.id.in_(referred)))
            self.numbers.update(dict(found.all()))

    def shape(self, invoice: Invoice) -> InvoiceOut:
        return InvoiceOut(
            number=invoice.full_invoice_no,
            event=self.events[invoice.event_id],
            order=self.orders[invoice.order_id],
            is_cancellation=invoice.is_cancellation,
            invoice_from_name=invoice.invoice_from_name,
            invoice_from=invoice.invoice_from,
            invoice_from_zipcode=invoice.invoice_from_zipcode,
            invoice_from_city=invoice.invoice_from_city,
            invoice_from_state=invoice.invoice_from_state,
            invoice_from_country=invoice.invoice_from_country,
            invoice_from_tax_id=invoice.invoice_from_tax_id,
            invoice_from_vat_id=invoice.invoice_from_vat_id,
            invoice_to=invoice.invoice_to,
            invoice_to_is_business=invoice.invoice_to_is_business,
            invoice_to_company=invoice.invoice_to_company,
            invoice_to_name=invoice.invoice_to_name,
            invoice_to_street=invoice.invoice_to_street,
            invoice_to_zipcode=invoice.invoice_to_zipcode,
            invoice_to_city=invoice.invoice_to_city,
            invoice_to_state=invoice.invoice_to_state,
            invoice_to_country=invoice.invoice_to_country,
            invoice_to_vat_id=invoice.invoice_to_vat_id,
            invoice_to_beneficiary=invoice.invoice_to_beneficiary,
            invoice_to_transmission_info=invoice.invoice_to_transmission_info or {},
            custom_field=invoice.custom_field,
            date=invoice.date,
            refers=self.numbers.get(invoice.refers_id) if invoice.refers_id else None,
            locale=invoice.locale,
            introductory_text=invoice.introductory_text,
            internal_reference=invoice.internal_reference,
            additional_text=invoice.additional_text,
            payment_provider_text=invoice.payment_provider_text,
            payment_provider_stamp=invoice.payment_provider_stamp,
            footer_text=invoice.footer_text,
            lines=[_line(line) for line in invoice.lines],
            foreign_currency_display=invoice.foreign_currency_display,
            foreign_currency_rate=invoice.foreign_currency_rate,
            foreign_currency_rate_date=invoice.foreign_currency_rate_date,
            transmission_type=invoice.transmission_type,
            transmission_provider=invoice.transmission_provider,
            transmission_status=invoice.transmission_status,
            transmission_date=invoice.transmission_date,
        )


def _line(line: InvoiceLine) -> InvoiceLineOut:
    return InvoiceLineOut(
        position=line.position,
        description=line.description,
        item=line.item_id,
        variation=line.variation_id,
        subevent=line.subevent_id,
        fee_type=line.fee_type,
        fee_internal_type=line.fee_internal_type,
        period_start=line.period_start,
        period_end=line.period_end,
        event_date_from=line.period_start,
        event_date_to=line.period_end,
        event_location=line.event_location,
        attendee_name=line.attendee_name,
        gross_value=money(line.gross_value),  # type: ignore[arg-type]
        tax_value=money(line.tax_value),  # type: ignore[arg-type]
        tax_name=line.tax_name,
        tax_code=line.tax_code,
        tax_rate=money(line.tax_rate),  # type: ignore[arg-type]
    )


def shape_invoice(call: Call, invoice: Invoice) -> InvoiceOut:
    shaper = _Shaper(call)
    shaper.prepare([invoice])
    return shaper.shape(invoice)


def load_invoice(call: Call, event: Event, number: str, *, with_file: bool = False) -> Invoice:
    """The event's invoice with this number (``CONF-00001``; the number without its prefix is accepted when it
    names one invoice of the event); 404 otherwise."""
    options: list[Any] = [selectinload(Invoice.lines)]
    if with_file:
        options.append(undefer(Invoice.file_content))
    base = select(Invoice).where(Invoice.event_id == event.id).options(*options)
    invoice = call.session.scalar(base.where(Invoice.full_invoice_no == number))
    if invoice is None:
        candidates = list(call.session.scalars(base.where(Invoice.invoice_no == number).limit(2)))
        invoice = candidates[0] if len(candidates) == 1 else None
    if invoice is None:
        raise not_found()
    return invoice


def invoice_filters(call: Call, statement: Select[Any], orders: list[str], numbers: list[str]) -> Select[Any]:
    if (flag := parse_bool(call.query, "is_cancellation")) is not None:
        statement = statement.where(Invoice.is_cancellation.is_(flag))
    if orders:
        statement = statement.where(Invoice.order_id.in_(select(Order.id).where(Order.code.in_(orders))))
    if numbers:
        statement = statement.where(or_(Invoice.full_invoice_no.in_(numbers), Invoice.invoice_no.in_(numbers)))
    if (refers := call.query.get("refers")) is not None:
        referred = select(Invoice.id).where(or_(Invoice.full_invoice_no == refers, Invoice.invoice_no == refers))
        statement = statement.where(Invoice.refers_id.in_(referred))
    if (locale := call.query.get("locale")) is not None:
        statement = statement.where(Invoice.locale == locale)
    ordering = call.query.get("ordering", "")
    for name in (part.strip().lstrip("-") for part in ordering.split(",") if part.strip()):
        if name not in ORDERING:
            raise FieldErrors.single("ordering", f"Select a valid choice. {name} is not one of the choices.")
    return statement


def _page(call: Call, statement: Select[Any], orders: list[str], numbers: list[str]) -> Page[InvoiceOut]:
    shaper = _Shaper(call)
    return call.paginate(
        invoice_filters(call, statement.options(selectinload(Invoice.lines)), orders, numbers),
        shaper.shape,
        ordering=ORDERING,
        default_ordering=DEFAULT_ORDERING,
        prepare=shaper.prepare,
    )


def _repeated(request: Request, name: str) -> list[str]:
    return [value for value in request.query_params.getall(name, []) if value]


# --- reading -------------------------------------------------------------------------------------------------------


@get(EVENT_BASE, tags=["invoices"])
async def list_event_invoices(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[InvoiceOut]]:
    """The invoices and cancellation documents of an event; filters ``is_cancellation``, ``order`` and ``number``
    (repeatable), ``refers``, ``locale``; ``ordering`` by ``nr`` (default) or ``date``."""
    orders, numbers = _repeated(request, "order"), _repeated(request, "number")

    def work(call: Call) -> Page[InvoiceOut]:
        target = call.event(organizer, event)
        require_read(call)
        return _page(call, select(Invoice).where(Invoice.event_id == target.id), orders, numbers)

    return await in_call(request, work)


@get(ORGANIZER_BASE, tags=["invoices"])
async def list_organizer_invoices(request: Request, organizer: FromPath[str]) -> Response[Page[InvoiceOut]]:
    """The invoices of every event of the organizer whose orders the caller may read, with the event list's
    filters (and ``event`` to narrow it to one event by slug)."""
    orders, numbers = _repeated(request, "order"), _repeated(request, "number")

    def work(call: Call) -> Page[InvoiceOut]:
        owner = call.organizer(organizer)
        events = visible_events(call, select(Event.id), owner.id)
        if not any(call.principal.has_event_permission(permission) for permission in READ_PERMISSIONS):
            events = events.where(Event.id == -1)
        if (slug := call.query.get("event")) is not None:
            events = events.where(Event.slug == slug)
        return _page(call, select(Invoice).where(Invoice.event_id.in_(events)), orders, numbers)

    return await in_call(request, work)


@get(DETAIL, tags=["invoices"])
async def get_invoice(
    request: Request, organizer: FromPath[str], event: FromPath[str], number: FromPath[str]
) -> Response[InvoiceOut]:
    """One invoice by its number."""

    def work(call: Call) -> InvoiceOut:
        target = call.event(organizer, event)
        require_read(call)
        return shape_invoice(call, load_invoice(call, target, number))

    return await in_call(request, work)


@get(DETAIL + "download/", tags=["invoices"], media_type="application/pdf")
async def download_invoice(
    request: Request, organizer: FromPath[str], event: FromPath[str], number: FromPath[str]
) -> Response[bytes]:
    """The invoice's PDF; ``409`` while it is still being rendered (retry after a short wait)."""

    def work(call: Call) -> tuple[str, str, bytes] | None:
        target = call.event(organizer, event)
        require_read(call)
        invoice = load_invoice(call, target, number, with_file=True)
        if invoice.file_content is None:
            # Normally the render job started at issuing is still running; should it have been lost, start another
            # (it starts when this unit of work commits, so the answer below must not roll it back).
            call.kernel.jobs.enqueue_on_commit(call.session, RENDER_JOB, invoice_id=invoice.id)
            return None
        name = invoice.file_name or f"{invoice.full_invoice_no}.pdf"
        return name, invoice.file_content_type or "application/pdf", invoice.file_content

    answer = await in_call(request, work)
    if answer.content is None:
        raise ApiError(409, "The invoice file is not ready yet. Please try again in a few seconds.")
    filename, content_type, content = answer.content
    return Response(
        content,
        media_type=content_type,
        headers={**answer.headers, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- actions -------------------------------------------------------------------------------------------------------


async def _act(request: Request, organizer: str, event: str, number: str, action: Any) -> Response[None]:
    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        action(call, load_invoice(call, target, number))

    return await in_call(request, work, status_code=204)


@post(DETAIL + "regenerate/", tags=["invoices"], status_code=204)
async def regenerate_invoice(
    request: Request, organizer: FromPath[str], event: FromPath[str], number: FromPath[str]
) -> Response[None]:
    """Render the invoice's file again (e.g. after a layout change); what the invoice says stays as issued."""

    def regenerate(call: Call, invoice: Invoice) -> None:
        try:
            invoicing.regenerate_invoice(call.kernel, call.session, invoice, actor=call.principal.actor)
        except NoRenderer as problem:
            raise ApiError(400, problem.detail) from None

    return await _act(request, organizer, event, number, regenerate)


@post(DETAIL + "reissue/", tags=["invoices"], status_code=204)
async def reissue_invoice(
    request: Request, organizer: FromPath[str], event: FromPath[str], number: FromPath[str]
) -> Response[None]:
    """Cancel the invoice (a cancellation document is issued) and issue a new one from the order as it is now;
    400 for a cancellation document or an invoice that is already canceled."""
    return await _act(
        request,
        organizer,
        event,
        number,
        lambda call, invoice: invoicing.reissue_invoice(call.kernel, call.session, invoice, actor=call.principal.actor),
    )


def _transmit(again: bool) -> Any:
    def action(call: Call, invoice: Invoice) -> None:
        try:
            transmission.transmit(call.kernel, call.session, invoice, again=again)
        except transmission.TransmissionRefused as refusal:
            raise ApiError(409 if refusal.conflict else 400, refusal.message) from None
        call.log(invoice.order, ACTION + ("retransmit" if again else "transmit"), {"invoice": invoice.full_invoice_no})

    return action


@post(DETAIL + "transmit/", tags=["invoices"], status_code=204)
async def transmit_invoice(
    request: Request, organizer: FromPath[str], event: FromPath[str], number: FromPath[str]
) -> Response[None]:
    """Start the transmission of an invoice in status ``pending``; 409 while one is in progress, 400 for other
    states (use ``retransmit``) or when no transmission provider is available."""
    return await _act(request, organizer, event, number, _transmit(again=False))


@post(DETAIL + "retransmit/", tags=["invoices"], status_code=204)
async def retransmit_invoice(
    request: Request, organizer: FromPath[str], event: FromPath[str], number: FromPath[str]
) -> Response[None]:
    """Transmit the invoice again whatever happened before; 409 while a transmission is in progress."""
    return await _act(request, organizer, event, number, _transmit(again=True))


@post("/api/v1/organizers/{organizer:str}/events/{event:str}/orders/{code:str}/create_invoice/", tags=["orders"])
async def create_invoice(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[InvoiceOut]:
    """Issue an invoice for an order that has no live one; 400 when invoices are switched off for the event
    (``invoice_generate`` ``False``), the order already has one, or it is canceled (or free, when free orders get
    none)."""

    def work(call: Call) -> InvoiceOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        order = load_order(call, target, code)
        if str(call.settings(event=target).get("invoice_generate")) == invoicing.service.GENERATE_NEVER:
            raise ApiError(400, "Invoices are switched off for this event (setting invoice_generate).")
        invoice = invoicing.issue_invoice(call.kernel, call.session, order, actor=call.principal.actor)
        return shape_invoice(call, invoice)

    return await in_call(request, work)


ROUTES = [
    list_event_invoices,
    list_organizer_invoices,
    get_invoice,
    download_invoice,
    regenerate_invoice,
    reissue_invoice,
    transmit_invoice,
    retransmit_invoice,
    create_invoice,
]
