"""The table exports: orders, positions, payments and refunds, a check-in list, invoice data, sales and quotas.

Each is a :class:`~boxoffice.hookspecs.providers.ListExporter`, so every one of them comes as CSV (three flavours),
Excel, JSON and a printable PDF, and streams its rows: rows are read from the database a chunk at a time.
The ``Organizer…`` variants cover several events of one organizer and add the event's slug as first column.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from boxoffice.hookspecs.providers import ListExporter, OrganizerExporter, ProgressTotal, ValidationFailure
from boxoffice.kernel.availability import quota_availabilities
from boxoffice.kernel.checkin.queries import list_scope
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event, Quota
from boxoffice.kernel.models.checkin import TYPE_ENTRY, Checkin, CheckinList
from boxoffice.kernel.models.invoices import Invoice, InvoiceLine
from boxoffice.kernel.models.orders import (
    STATUS_CANCELED,
    STATUS_EXPIRED,
    STATUS_PAID,
    STATUS_PENDING,
    InvoiceAddress,
    Order,
    OrderPayment,
    OrderPosition,
    OrderRefund,
    QuestionAnswer,
)
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.orders.placement import format_name
from boxoffice.plugins.reports.common import (
    CHUNK,
    DATE_FILTERS,
    ORDER_FILTERS,
    Names,
    chosen_days,
    chunked,
    events_of,
    locale_of,
    order_conditions,
    organizer_level,
    session_of,
    status_name,
)

ORDER_DATA = "Order data"
INVOICING = "Invoicing"
CHECKIN = "Check-in"
STATISTICS = "Statistics"


ORDER_COLUMNS = (
    "Order code",
    "Status",
    "Test mode",
    "E-mail",
    "Phone",
    "Order date",
    "Total",
    "Paid",
    "Last payment",
    "Tickets",
    "Company",
    "Name",
    "Street",
    "ZIP code",
    "City",
    "Country",
    "VAT ID",
    "Sales channel",
    "Language",
    "Comment",
)
POSITION_COLUMNS = (
    "Order code",
    "Position",
    "Order status",
    "Canceled",
    "Product",
    "Variation",
    "Price",
    "Tax rate",
    "Tax",
    "Attendee name",
    "Attendee e-mail",
    "Company",
    "Street",
    "ZIP code",
    "City",
    "Country",
    "Order date",
    "Order e-mail",
)


def pick_columns(
    rows: Iterator[Sequence[Any] | ProgressTotal], wanted: list[str] | None, choosable: Sequence[str]
) -> Iterator[Sequence[Any] | ProgressTotal]:
    """Keep only the ``wanted`` columns of ``choosable`` ones (all when none are named); others always stay (the
    event column of organizer exports, question columns)."""
    keep: list[int] | None = None
    for row in rows:
        if isinstance(row, ProgressTotal):
            yield row
            continue
        if keep is None:
            keep = [i for i, name in enumerate(row) if not wanted or name in wanted or name not in choosable]
        yield [row[i] for i in keep]


def _columns_input(columns: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {"columns": {"type": "list", "choices": list(columns)}}


def _event_column(exporter: Any) -> list[str]:
    return ["Event"] if organizer_level(exporter) else []


def _event_value(exporter: Any, slug: str) -> list[str]:
    return [slug] if organizer_level(exporter) else []


class OrderListExporter(ListExporter):
    """One row per order: status, buyer, invoice address, total and what was paid."""

    identifier = "orderlist"
    category = ORDER_DATA
    description = "All orders with buyer, invoice address, total, amount paid and number of tickets."
    input_parameters = {**ORDER_FILTERS, **_columns_input(ORDER_COLUMNS)}

    @property
    def verbose_name(self) -> str:
        return "Order list"

    def iterate_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        return pick_columns(self._all_rows(params), params.get("columns"), ORDER_COLUMNS)

    def _all_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        session = session_of(self)
        events = events_of(self)
        conditions = order_conditions(params, [event.id for event in events])
        yield ProgressTotal(session.scalar(select(func.count(Order.id)).where(*conditions)) or 0)
        statement = (
            select(
                Order.id,
                Event.slug,
                Order.code,
                Order.status,
                Order.testmode,
                Order.email,
                Order.phone,
                Order.datetime,
                Order.total,
                InvoiceAddress.company,
                InvoiceAddress.name_parts,
                InvoiceAddress.street,
                InvoiceAddress.zipcode,
                InvoiceAddress.city,
                InvoiceAddress.country,
                InvoiceAddress.vat_id,
                Order.sales_channel,
                Order.locale,
                Order.comment,
            )
            .join(Event, Event.id == Order.event_id)
            .outerjoin(InvoiceAddress, InvoiceAddress.order_id == Order.id)
            .where(*conditions)
        )
        yield [*_event_column(self), *ORDER_COLUMNS]
        batch: list[Any] = []
        for row in chunked(session, statement, Order.id):
            batch.append(row)
            if len(batch) == CHUNK:
                yield from self._with_sums(session, batch)
                batch = []
        yield from self._with_sums(session, batch)

    def _with_sums(self, session: Any, batch: list[Any]) -> Iterator[Sequence[Any]]:
        """The rows of one chunk with tickets, amount paid and last payment, from one grouped query each."""
        if not batch:
            return
        ids = [row[0] for row in batch]
        tickets = dict(
            session.execute(
                select(OrderPosition.order_id, func.count(OrderPosition.id))
                .where(OrderPosition.order_id.in_(ids), OrderPosition.canceled.is_(False))
                .group_by(OrderPosition.order_id)
            ).all()
        )
        received = {
            order_id: (Decimal(amount or 0), paid_at)
            for order_id, amount, paid_at in session.execute(
                select(OrderPayment.order_id, func.sum(OrderPayment.amount), func.max(OrderPayment.payment_date))
                .where(OrderPayment.order_id.in_(ids), OrderPayment.state.in_(("confirmed", "refunded")))
                .group_by(OrderPayment.order_id)
            )
        }
        refunded = dict(
            session.execute(
                select(OrderRefund.order_id, func.sum(OrderRefund.amount))
                .where(OrderRefund.order_id.in_(ids), OrderRefund.state == "done")
                .group_by(OrderRefund.order_id)
            ).all()
        )
        for row in batch:
            (order_id, slug, code, status, testmode, email, phone, when, total, company, name_parts, street, zipcode,
             city, country, vat_id, channel, locale, comment) = row  # fmt: skip
            paid, paid_at = received.get(order_id, (Decimal(0), None))
            yield [
                *_event_value(self, slug),
                code,
                status_name(status),
                "yes" if testmode else "no",
                email,
                phone,
                when,
                Decimal(total),
                paid - Decimal(refunded.get(order_id) or 0),
                paid_at,
                tickets.get(order_id, 0),
                company,
                format_name(name_parts) if name_parts else None,
                street,
                zipcode,
                city,
                country,
                vat_id,
                channel,
                locale,
                comment,
            ]


class PositionListExporter(ListExporter):
    """One row per ticket (order position), with attendee data and one column per question."""

    identifier = "positionlist"
    category = ORDER_DATA
    description = "All tickets with product, price, attendee and the answers to the event's questions."
    input_parameters = {
        **ORDER_FILTERS,
        "include_canceled": {"type": "boolean", "default": False},
        **_columns_input(POSITION_COLUMNS),
    }

    @property
    def verbose_name(self) -> str:
        return "Ticket (position) list"

    def iterate_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        return pick_columns(self._all_rows(params), params.get("columns"), POSITION_COLUMNS)

    def _all_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        session = session_of(self)
        events = events_of(self)
        event_ids = [event.id for event in events]
        locale = locale_of(self)
        names = Names(session, event_ids, locale)
        conditions = order_conditions(params, event_ids)
        if not params.get("include_canceled"):
            conditions.append(OrderPosition.canceled.is_(False))
        # Question columns only where one event's questions are meant; across events they would not line up.
        questions = (
            []
            if organizer_level(self)
            else list(
                session.execute(
                    select(Question.id, Question.question)
                    .where(Question.event_id == event_ids[0])
                    .order_by(Question.position, Question.id)
                )
            )
        )
        counted = select(func.count(OrderPosition.id)).join(Order, Order.id == OrderPosition.order_id)
        yield ProgressTotal(session.scalar(counted.where(*conditions)) or 0)
        yield [*_event_column(self), *POSITION_COLUMNS, *(localize(text, locale) for _id, text in questions)]
        statement = (
            select(
                OrderPosition.id,
                Event.slug,
                Order.code,
                OrderPosition.positionid,
                Order.status,
                OrderPosition.canceled,
                OrderPosition.item_id,
                OrderPosition.variation_id,
                OrderPosition.price,
                OrderPosition.tax_rate,
                OrderPosition.tax_value,
                OrderPosition.attendee_name_cached,
                OrderPosition.attendee_email,
                OrderPosition.company,
                OrderPosition.street,
                OrderPosition.zipcode,
                OrderPosition.city,
                OrderPosition.country,
                Order.datetime,
                Order.email,
            )
            .join(Order, Order.id == OrderPosition.order_id)
            .join(Event, Event.id == Order.event_id)
            .where(*conditions)
        )
        batch: list[Any] = []
        for row in chunked(session, statement, OrderPosition.id):
            batch.append(row)
            if len(batch) == CHUNK:
                yield from self._with_answers(session, batch, questions, names)
                batch = []
        yield from self._with_answers(session, batch, questions, names)

    def _with_answers(
        self, session: Any, batch: list[Any], questions: list[Any], names: Names
    ) -> Iterator[Sequence[Any]]:
        answers: dict[tuple[int, int], str] = {}
        if questions and batch:
            for position_id, question_id, answer in session.execute(
                select(QuestionAnswer.orderposition_id, QuestionAnswer.question_id, QuestionAnswer.answer).where(
                    QuestionAnswer.orderposition_id.in_([row[0] for row in batch])
                )
            ):
                answers[(position_id, question_id)] = answer
        for row in batch:
            (position_id, slug, code, positionid, status, canceled, item_id, variation_id, price, tax_rate,
             tax_value, name, email, company, street, zipcode, city, country, when, order_email) = row  # fmt: skip
            yield [
                *_event_value(self, slug),
                code,
                positionid,
                status_name(status),
                "yes" if canceled else "no",
                names.item(item_id),
                names.variation(variation_id),
                Decimal(price),
                Decimal(tax_rate),
                Decimal(tax_value),
                name,
                email,
                company,
                street,
                zipcode,
                city,
                country,
                when,
                order_email,
                *(answers.get((position_id, question_id), "") for question_id, _text in questions),
            ]


class PaymentListExporter(ListExporter):
    """Payments and refunds with their state, method and amount (refunds listed after the payments)."""

    identifier = "paymentlist"
    category = ORDER_DATA
    description = "All payments and refunds of the orders, with method, state, amount and dates."
    input_parameters = {
        "states": {
            "type": "list",
            "choices": ["created", "pending", "confirmed", "canceled", "failed", "refunded", "transit", "external",
                        "done"],
        },
    }  # fmt: skip

    @property
    def verbose_name(self) -> str:
        return "Payments and refunds"

    def iterate_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        session = session_of(self)
        event_ids = [event.id for event in events_of(self)]
        states = params.get("states") or None
        payment_filter = [Order.event_id.in_(event_ids), *([OrderPayment.state.in_(states)] if states else [])]
        refund_filter = [Order.event_id.in_(event_ids), *([OrderRefund.state.in_(states)] if states else [])]
        total = (session.scalar(select(func.count(OrderPayment.id)).join(Order).where(*payment_filter)) or 0) + (
            session.scalar(select(func.count(OrderRefund.id)).join(Order).where(*refund_filter)) or 0
        )
        yield ProgressTotal(total)
        yield [
            *_event_column(self),
            "Order code",
            "Type",
            "ID",
            "Payment method",
            "State",
            "Amount",
            "Created",
            "Completed",
            "Comment",
        ]
        payments = (
            select(
                OrderPayment.id,
                Event.slug,
                Order.code,
                OrderPayment.local_id,
                OrderPayment.provider,
                OrderPayment.state,
                OrderPayment.amount,
                OrderPayment.created,
                OrderPayment.payment_date,
            )
            .join(Order, Order.id == OrderPayment.order_id)
            .join(Event, Event.id == Order.event_id)
            .where(*payment_filter)
        )
        for _id, slug, code, local_id, provider, state, amount, created, completed in chunked(
            session, payments, OrderPayment.id
        ):
            yield [*_event_value(self, slug), code, "payment", f"{code}-P-{local_id}", provider, state,
                   Decimal(amount), created, completed, ""]  # fmt: skip
        refunds = (
            select(
                OrderRefund.id,
                Event.slug,
                Order.code,
                OrderRefund.local_id,
                OrderRefund.provider,
                OrderRefund.state,
                OrderRefund.amount,
                OrderRefund.created,
                OrderRefund.execution_date,
                OrderRefund.comment,
            )
            .join(Order, Order.id == OrderRefund.order_id)
            .join(Event, Event.id == Order.event_id)
            .where(*refund_filter)
        )
        for _id, slug, code, local_id, provider, state, amount, created, completed, comment in chunked(
            session, refunds, OrderRefund.id
        ):
            yield [*_event_value(self, slug), code, "refund", f"{code}-R-{local_id}", provider, state,
                   Decimal(amount), created, completed, comment]  # fmt: skip


class CheckinListExporter(ListExporter):
    """The tickets of one check-in list with whether and when they were checked in; print it as PDF at the door."""

    identifier = "checkinlist"
    category = CHECKIN
    description = "The tickets of one check-in list, sorted by name, with their check-in status (CSV or PDF)."
    input_parameters = {
        "list": {"type": "integer", "required": True},
        "secrets": {"type": "boolean", "default": False},
        "status": {"type": "string", "default": "all", "choices": ["all", "checked_in", "not_checked_in"]},
    }

    @property
    def verbose_name(self) -> str:
        return "Check-in list"

    def iterate_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        session = session_of(self)
        event = self.event
        checkin_list = session.get(CheckinList, params["list"])
        if event is None or checkin_list is None or checkin_list.event_id != event.id:
            raise ValidationFailure("This check-in list does not exist.", field="list")
        names = Names(session, [event.id], locale_of(self))
        last_entry = (
            select(func.max(Checkin.datetime))
            .where(
                Checkin.position_id == OrderPosition.id,
                Checkin.list_id == checkin_list.id,
                Checkin.successful.is_(True),
                Checkin.type == TYPE_ENTRY,
            )
            .scalar_subquery()
        )
        conditions = [list_scope(checkin_list)]
        if params["status"] == "checked_in":
            conditions.append(last_entry.is_not(None))
        elif params["status"] == "not_checked_in":
            conditions.append(last_entry.is_(None))
        base = select(func.count(OrderPosition.id)).join(Order, Order.id == OrderPosition.order_id)
        yield ProgressTotal(session.scalar(base.where(*conditions)) or 0)
        yield [
            "Attendee name",
            "Order code",
            "Product",
            "Variation",
            "Price",
            "Order status",
            "Checked in",
            "E-mail",
            *(["Secret"] if params["secrets"] else []),
        ]
        statement = (
            select(
                OrderPosition.attendee_name_cached,
                Order.code,
                OrderPosition.item_id,
                OrderPosition.variation_id,
                OrderPosition.price,
                Order.status,
                last_entry,
                func.coalesce(OrderPosition.attendee_email, Order.email),
                OrderPosition.secret,
            )
            .join(Order, Order.id == OrderPosition.order_id)
            .where(*conditions)
            .order_by(func.coalesce(OrderPosition.attendee_name_cached, ""), Order.code, OrderPosition.positionid)
            .execution_options(yield_per=CHUNK)
        )
        for name, code, item_id, variation_id, price, status, checked_in, email, secret in session.execute(statement):
            yield [
                name,
                code,
                names.item(item_id),
                names.variation(variation_id),
                Decimal(price),
                status_name(status),
                checked_in,
                email,
                *([secret] if params["secrets"] else []),
            ]


class InvoiceDataExporter(ListExporter):
    """One row per invoice or cancellation: number, date, recipient and the sums of its lines."""

    identifier = "invoicedata"
    category = INVOICING
    description = "All invoices and cancellations with recipient, net, tax and gross sums (for accounting)."
    input_parameters = DATE_FILTERS

    @property
    def verbose_name(self) -> str:
        return "Invoice data"

    def iterate_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        session = session_of(self)
        event_ids = [event.id for event in events_of(self)]
        conditions = [Invoice.event_id.in_(event_ids)]
        first, last = chosen_days(params)
        if first:
            conditions.append(Invoice.date >= first)
        if last:
            conditions.append(Invoice.date <= last)
        yield ProgressTotal(session.scalar(select(func.count(Invoice.id)).where(*conditions)) or 0)
        sums = (
            select(
                InvoiceLine.invoice_id.label("invoice_id"),
                func.sum(InvoiceLine.gross_value).label("gross"),
                func.sum(InvoiceLine.tax_value).label("tax"),
            )
            .group_by(InvoiceLine.invoice_id)
            .subquery()
        )
        original = aliased(Invoice)
        statement = (
            select(
                Invoice.id,
                Event.slug,
                Invoice.full_invoice_no,
                Invoice.date,
                Order.code,
                Invoice.is_cancellation,
                original.full_invoice_no,
                Invoice.invoice_to_company,
                Invoice.invoice_to_name,
                Invoice.invoice_to_street,
                Invoice.invoice_to_zipcode,
                Invoice.invoice_to_city,
                Invoice.invoice_to_country,
                Invoice.invoice_to_vat_id,
                sums.c.gross,
                sums.c.tax,
                Invoice.currency,
            )
            .join(Order, Order.id == Invoice.order_id)
            .join(Event, Event.id == Invoice.event_id)
            .outerjoin(original, original.id == Invoice.refers_id)
            .outerjoin(sums, sums.c.invoice_id == Invoice.id)
            .where(*conditions)
        )
        yield [
            *_event_column(self),
            "Invoice number",
            "Date",
            "Order code",
            "Type",
            "Cancels",
            "Company",
            "Name",
            "Street",
            "ZIP code",
            "City",
            "Country",
            "VAT ID",
            "Net",
            "Tax",
            "Gross",
            "Currency",
        ]
        for row in chunked(session, statement, Invoice.id):
            (_id, slug, number, day, code, cancellation, cancels, company, name, street, zipcode, city, country,
             vat_id, gross, tax) = row[:16]  # fmt: skip
            gross_sum = Decimal(gross or 0)
            tax_sum = Decimal(tax or 0)
            yield [
                *_event_value(self, slug),
                number,
                day,
                code,
                "cancellation" if cancellation else "invoice",
                cancels,
                company,
                name,
                street,
                zipcode,
                city,
                country,
                vat_id,
                gross_sum - tax_sum,
                tax_sum,
                gross_sum,
                row[16],
            ]


class SalesOverviewExporter(ListExporter):
    """Tickets and revenue per product and variation by order state, with a total row."""

    identifier = "salesoverview"
    category = STATISTICS
    description = "Sold tickets and revenue per product: paid, pending and canceled or expired, with totals."
    input_parameters = DATE_FILTERS

    @property
    def verbose_name(self) -> str:
        return "Sales overview"

    def iterate_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        session = session_of(self)
        events = events_of(self)
        event_ids = [event.id for event in events]
        names = Names(session, event_ids, locale_of(self))
        conditions = order_conditions({key: value for key, value in params.items() if key in DATE_FILTERS}, event_ids)
        lost = or_(Order.status.in_((STATUS_CANCELED, STATUS_EXPIRED)), OrderPosition.canceled.is_(True))
        counts: dict[tuple[str, int, int | None], dict[str, Any]] = {}
        grouped = (
            select(
                Event.slug,
                OrderPosition.item_id,
                OrderPosition.variation_id,
                func.sum(_when(and_(Order.status == STATUS_PAID, OrderPosition.canceled.is_(False)), 1)),
                func.sum(_when(and_(Order.status == STATUS_PAID, OrderPosition.canceled.is_(False)), None)),
                func.sum(_when(and_(Order.status == STATUS_PENDING, OrderPosition.canceled.is_(False)), 1)),
                func.sum(_when(and_(Order.status == STATUS_PENDING, OrderPosition.canceled.is_(False)), None)),
                func.sum(_when(lost, 1)),
            )
            .join(Order, Order.id == OrderPosition.order_id)
            .join(Event, Event.id == Order.event_id)
            .where(*conditions)
            .group_by(Event.slug, OrderPosition.item_id, OrderPosition.variation_id)
            .order_by(Event.slug, OrderPosition.item_id, OrderPosition.variation_id)
        )
        for slug, item_id, variation_id, paid, paid_sum, pending, pending_sum, canceled in session.execute(grouped):
            counts[(slug, item_id, variation_id)] = {
                "paid": int(paid or 0),
                "paid_sum": Decimal(paid_sum or 0),
                "pending": int(pending or 0),
                "pending_sum": Decimal(pending_sum or 0),
                "canceled": int(canceled or 0),
            }
        yield [
            *_event_column(self),
            "Product",
            "Variation",
            "Paid tickets",
            "Paid revenue",
            "Pending tickets",
            "Pending revenue",
            "Canceled or expired tickets",
        ]
        totals = {"paid": 0, "paid_sum": Decimal(0), "pending": 0, "pending_sum": Decimal(0), "canceled": 0}
        for (slug, item_id, variation_id), row in counts.items():
            for key in totals:
                totals[key] += row[key]
            yield [*_event_value(self, slug), names.item(item_id), names.variation(variation_id), row["paid"],
                   row["paid_sum"], row["pending"], row["pending_sum"], row["canceled"]]  # fmt: skip
        yield [*_event_value(self, ""), "Total", "", totals["paid"], totals["paid_sum"], totals["pending"],
               totals["pending_sum"], totals["canceled"]]  # fmt: skip


def _when(condition: Any, value: int | None) -> Any:
    """``CASE WHEN condition THEN value (the price when None) ELSE 0 END`` for conditional sums."""
    return case((condition, OrderPosition.price if value is None else value), else_=0)


class QuotaOverviewExporter(ListExporter):
    """Every quota with its size and what uses it: paid, pending, carts, vouchers, and what is left."""

    identifier = "quotaoverview"
    category = STATISTICS
    description = "All quotas with size, paid and pending tickets, reservations and the number still available."
    input_parameters: dict[str, dict[str, Any]] = {}

    @property
    def verbose_name(self) -> str:
        return "Quota overview"

    def iterate_rows(self, params: dict[str, Any]) -> Iterator[Sequence[Any] | ProgressTotal]:
        session = session_of(self)
        events = {event.id: event for event in events_of(self)}
        quotas = list(
            session.scalars(select(Quota).where(Quota.event_id.in_(list(events))).order_by(Quota.event_id, Quota.id))
        )
        availability = quota_availabilities(session, quotas)
        yield [
            *_event_column(self),
            "Quota",
            "Size",
            "Paid",
            "Pending",
            "In carts",
            "Blocked by vouchers",
            "Waiting list",
            "Available",
        ]
        for quota in quotas:
            state = availability[quota.id]
            yield [
                *_event_value(self, events[quota.event_id].slug),
                quota.name,
                "unlimited" if quota.size is None else quota.size,
                state.paid_orders,
                state.pending_orders,
                state.cart_positions,
                state.blocking_vouchers,
                state.waiting_list,
                "unlimited" if state.available_number is None else state.available_number,
            ]


class OrganizerOrderListExporter(OrderListExporter, OrganizerExporter):
    pass


class OrganizerPositionListExporter(PositionListExporter, OrganizerExporter):
    pass


class OrganizerPaymentListExporter(PaymentListExporter, OrganizerExporter):
    pass


class OrganizerInvoiceDataExporter(InvoiceDataExporter, OrganizerExporter):
    pass


class OrganizerSalesOverviewExporter(SalesOverviewExporter, OrganizerExporter):
    pass
