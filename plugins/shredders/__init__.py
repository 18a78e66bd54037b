"""Shredders: remove personal data of an event that is over — e-mail addresses (with the mail log), phone numbers,
invoice addresses, attendee names and data, answers to questions (with uploaded files), payment details and,
once their legal retention period has passed, invoices.

Every shredder first hands over what it will destroy (``generate_files``) and then overwrites it with
:func:`~boxoffice.hookspecs.providers.mask` (same length, so records keep their shape). Amounts, states, product
references and the ledger are never touched, so the event's totals and accounts stay as they were. Audit-log rows
are kept; personal values inside their data are masked and the rows marked ``shredded``.

An ``event`` plugin: where it is not enabled on the event, no shredder is listed or runnable.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import DataShredder, GeneratedFile, SettingDefault, mask
from boxoffice.kernel import clock
from boxoffice.kernel.models import LogEntry
from boxoffice.kernel.models.api_state import UploadedFile
from boxoffice.kernel.models.invoices import Invoice, InvoiceLine
from boxoffice.kernel.models.mail import OutboxMail
from boxoffice.kernel.models.orders import (
    CartPosition,
    InvoiceAddress,
    Order,
    OrderPayment,
    OrderPosition,
    OrderRefund,
    QuestionAnswer,
)

plugin_meta = PluginMeta(
    name="Data shredders",
    description="Removes personal data of past events after offering an export of it.",
    category="FEATURE",
    level="event",
)

RETENTION_SETTING = "shredders_invoice_retention_years"
CHUNK = 500
_WORD_SPLIT = re.compile(r"[\s,;:<>()\[\]{}\"'/|]+")


@hookimpl
def register_settings_defaults() -> list[SettingDefault]:
    return [
        SettingDefault(
            RETENTION_SETTING,
            10,
            int,
            public=False,
            description="Years invoices are kept after their date before the invoice shredder may remove them",
            permission="event.settings.invoicing:write",
        )
    ]


# --- helpers ------------------------------------------------------------------------------------------------------


def _session(shredder: DataShredder) -> Session:
    session = object_session(shredder.event)
    if session is None:
        raise RuntimeError("shredders run with their event loaded in a session")
    return session


def _csv(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> GeneratedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return filename, "text/csv; charset=utf-8", buffer.getvalue().encode()


def _orders(session: Session, event_id: int) -> Iterator[Order]:
    last = 0
    while True:
        chunk = list(
            session.scalars(
                select(Order).where(Order.event_id == event_id, Order.id > last).order_by(Order.id).limit(CHUNK)
            )
        )
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id


def _positions(session: Session, event_id: int) -> Iterator[OrderPosition]:
    last = 0
    while True:
        chunk = list(
            session.scalars(
                select(OrderPosition)
                .join(Order, Order.id == OrderPosition.order_id)
                .where(Order.event_id == event_id, OrderPosition.id > last)
                .order_by(OrderPosition.id)
                .limit(CHUNK)
            )
        )
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id


def _mask_parts(parts: dict[str, Any] | None) -> dict[str, Any]:
    """Name parts with every value masked; ``_scheme`` and similar keys stay, they are not personal."""
    return {key: (value if key.startswith("_") else mask(str(value))) for key, value in (parts or {}).items()}


def _mask_json(value: Any, personal: set[str] | None = None) -> Any:
    """Mask every text inside a JSON value (all of it when ``personal`` is None, else only personal values)."""
    if isinstance(value, dict):
        return {key: _mask_json(item, personal) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_json(item, personal) for item in value]
    if isinstance(value, str):
        if personal is None:
            return mask(value)
        return _mask_text(value, personal)
    return value


def _mask_text(text: str, personal: set[str]) -> str:
    if text in personal:
        return mask(text)
    words = [word for word in _WORD_SPLIT.split(text) if word in personal]
    for word in words:
        text = text.replace(word, mask(word))
    return text


def scrub_log_entries(session: Session, event_id: int, personal: set[str]) -> int:
    """Mask ``personal`` values inside the data of the event's audit-log rows and mark changed rows ``shredded``.

    Rows are never deleted: who did what stays on record, only the personal values go.
    """
    personal = {value for value in personal if value and len(value) > 2}
    if not personal:
        return 0
    changed = 0
    last = 0
    while True:
        entries = list(
            session.scalars(
                select(LogEntry)
                .where(LogEntry.event_id == event_id, LogEntry.id > last)
                .order_by(LogEntry.id)
                .limit(CHUNK)
            )
        )
        if not entries:
            return changed
        for entry in entries:
            cleaned = _mask_json(entry.data or {}, personal)
            if cleaned != entry.data:
                entry.data = cleaned
                entry.shredded = True
                changed += 1
        last = entries[-1].id


def _name_values(parts: dict[str, Any] | None, full: str | None) -> set[str]:
    values = {str(value) for key, value in (parts or {}).items() if not key.startswith("_") and value}
    if full:
        values.add(full)
    return values


def _steps(progress: Callable[[int], None] | None, total: int) -> Callable[[int], None]:
    done = [0]

    def step(count: int = 1) -> None:
        done[0] += count
        if progress is not None and total:
            progress(min(100, done[0] * 100 // total))

    return step


# --- shredders ----------------------------------------------------------------------------------------------------


class EmailAddressShredder(DataShredder):
    """Buyer and attendee e-mail addresses, and the e-mails sent for this event (recipients, texts, attachments)."""

    identifier = "order_emails"

    @property
    def verbose_name(self) -> str:
        return "E-mail addresses"

    @property
    def description(self) -> str:
        return (
            "Removes the e-mail addresses of buyers and attendees and the log of e-mails sent for this event "
            "(recipients, subjects, texts and attachments)."
        )

    def generate_files(self) -> Iterator[GeneratedFile]:
        session = _session(self)
        yield _csv(
            "emails.csv",
            ["Order code", "Order e-mail", "Position", "Attendee e-mail"],
            (
                row
                for order in _orders(session, self.event.id)
                for row in [(order.code, order.email, "", "")]
                + [("", "", p.positionid, p.attendee_email) for p in order.positions if p.attendee_email]
            ),
        )

    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        session = _session(self)
        personal: set[str] = set()
        for order in _orders(session, self.event.id):
            if order.email:
                personal.add(order.email)
                order.email = mask(order.email)
            for position in order.positions:
                if position.attendee_email:
                    personal.add(position.attendee_email)
                    position.attendee_email = mask(position.attendee_email)
        for cart in session.scalars(select(CartPosition).where(CartPosition.event_id == self.event.id)):
            cart.attendee_email = mask(cart.attendee_email)
        for mail in session.scalars(select(OutboxMail).where(OutboxMail.event_id == self.event.id)):
            mail.recipients = [mask(address) or "" for address in mail.recipients or []]
            mail.reply_to = mask(mail.reply_to)
            mail.subject = mask(mail.subject) or ""
            mail.body = mask(mail.body) or ""
            mail.attachments = []
            mail.last_error = mask(mail.last_error)
        scrub_log_entries(session, self.event.id, personal)
        if progress is not None:
            progress(100)


class PhoneNumberShredder(DataShredder):
    identifier = "phone_numbers"

    @property
    def verbose_name(self) -> str:
        return "Phone numbers"

    @property
    def description(self) -> str:
        return "Removes the phone numbers buyers gave with their orders."

    def generate_files(self) -> Iterator[GeneratedFile]:
        session = _session(self)
        yield _csv(
            "phone_numbers.csv",
            ["Order code", "Phone"],
            ((order.code, order.phone) for order in _orders(session, self.event.id) if order.phone),
        )

    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        session = _session(self)
        personal: set[str] = set()
        for order in _orders(session, self.event.id):
            if order.phone:
                personal.add(order.phone)
                order.phone = mask(order.phone)
        scrub_log_entries(session, self.event.id, personal)
        if progress is not None:
            progress(100)


ADDRESS_TEXT_FIELDS = ("company", "street", "zipcode", "city", "state", "vat_id", "internal_reference", "custom_field")


class InvoiceAddressShredder(DataShredder):
    """The invoice addresses of orders (issued invoices are the invoice shredder's, as the law may keep them)."""

    identifier = "invoice_address"
    tax_relevant = True

    @property
    def verbose_name(self) -> str:
        return "Invoice addresses"

    @property
    def description(self) -> str:
        return (
            "Removes the invoice addresses entered with orders. Issued invoices keep their copy of the address "
            "until the invoice shredder may remove them."
        )

    def _addresses(self, session: Session) -> Iterator[tuple[Order, InvoiceAddress]]:
        for order in _orders(session, self.event.id):
            address = order.invoice_address
            if address is not None:
                yield order, address

    def generate_files(self) -> Iterator[GeneratedFile]:
        session = _session(self)
        yield _csv(
            "invoice_addresses.csv",
            ["Order code", "Name", *ADDRESS_TEXT_FIELDS, "Country"],
            (
                [
                    order.code,
                    " ".join(str(v) for k, v in (address.name_parts or {}).items() if not k.startswith("_")),
                    *(getattr(address, field) for field in ADDRESS_TEXT_FIELDS),
                    address.country,
                ]
                for order, address in self._addresses(session)
            ),
        )

    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        session = _session(self)
        personal: set[str] = set()
        for _order, address in self._addresses(session):
            personal |= _name_values(address.name_parts, None)
            for field in ADDRESS_TEXT_FIELDS:
                value = getattr(address, field)
                if value:
                    personal.add(value)
                    setattr(address, field, mask(value))
            address.name_parts = _mask_parts(address.name_parts)
            address.transmission_info = _mask_json(address.transmission_info) if address.transmission_info else None
        scrub_log_entries(session, self.event.id, personal)
        if progress is not None:
            progress(100)


ATTENDEE_TEXT_FIELDS = ("company", "street", "zipcode", "city", "state")


class AttendeeInfoShredder(DataShredder):
    """Attendee names and addresses on tickets (and on carts left over from the sale)."""

    identifier = "attendee_info"

    @property
    def verbose_name(self) -> str:
        return "Attendee info"

    @property
    def description(self) -> str:
        return "Removes attendee names, companies and addresses from all tickets of this event."

    def generate_files(self) -> Iterator[GeneratedFile]:
        session = _session(self)
        yield _csv(
            "attendees.csv",
            ["Order code", "Position", "Name", *ATTENDEE_TEXT_FIELDS],
            (
                [p.order.code, p.positionid, p.attendee_name_cached, *(getattr(p, f) for f in ATTENDEE_TEXT_FIELDS)]
                for p in _positions(session, self.event.id)
            ),
        )

    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        session = _session(self)
        personal: set[str] = set()
        for position in _positions(session, self.event.id):
            personal |= _name_values(position.attendee_name_parts, position.attendee_name_cached)
            position.attendee_name_parts = _mask_parts(position.attendee_name_parts)
            position.attendee_name_cached = mask(position.attendee_name_cached)
            for field in ATTENDEE_TEXT_FIELDS:
                value = getattr(position, field)
                if value:
                    personal.add(value)
                    setattr(position, field, mask(value))
        for cart in session.scalars(select(CartPosition).where(CartPosition.event_id == self.event.id)):
            cart.attendee_name_parts = _mask_parts(cart.attendee_name_parts)
        scrub_log_entries(session, self.event.id, personal)
        if progress is not None:
            progress(100)


class QuestionAnswerShredder(DataShredder):
    """Answers to the event's questions, including uploaded files."""

    identifier = "question_answers"

    @property
    def verbose_name(self) -> str:
        return "Answers to questions"

    @property
    def description(self) -> str:
        return "Removes all answers to questions, including files uploaded as answers."

    def _answers(self, session: Session) -> Iterator[tuple[str, int, QuestionAnswer]]:
        for position in _positions(session, self.event.id):
            for answer in position.answers:
                yield position.order.code, position.positionid, answer

    def generate_files(self) -> Iterator[GeneratedFile]:
        session = _session(self)
        answers = list(self._answers(session))
        yield _csv(
            "answers.csv",
            ["Order code", "Position", "Question", "Answer"],
            ((code, positionid, answer.question_id, answer.answer) for code, positionid, answer in answers),
        )
        for code, positionid, answer in answers:
            upload = session.get(UploadedFile, answer.file_id) if answer.file_id else None
            if upload is not None:
                yield f"{code}-{positionid}-{upload.filename}", upload.content_type, upload.content

    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        session = _session(self)
        personal: set[str] = set()
        for _code, _positionid, answer in list(self._answers(session)):
            if answer.file_id:
                upload = session.get(UploadedFile, answer.file_id)
                if upload is not None:
                    session.delete(upload)
                answer.file_id = None
            if answer.answer:
                personal.add(answer.answer)
                answer.answer = mask(answer.answer) or ""
        scrub_log_entries(session, self.event.id, personal)
        if progress is not None:
            progress(100)


class PaymentInfoShredder(DataShredder):
    """What payment providers stored about payments and refunds (account holders, IBANs, payer e-mails …)."""

    identifier = "payment_info"
    tax_relevant = True

    @property
    def verbose_name(self) -> str:
        return "Payment information"

    @property
    def description(self) -> str:
        return (
            "Removes the details payment providers recorded for payments and refunds (payer names, account "
            "numbers, references). Amounts, dates and states stay."
        )

    def _rows(self, session: Session) -> Iterator[tuple[str, OrderPayment | OrderRefund]]:
        for order in _orders(session, self.event.id):
            for payment in order.payments:
                yield order.code, payment
            for refund in order.refunds:
                yield order.code, refund

    def generate_files(self) -> Iterator[GeneratedFile]:
        session = _session(self)
        yield _csv(
            "payment_info.csv",
            ["Order code", "Type", "ID", "Provider", "Details"],
            (
                [code, "payment" if isinstance(row, OrderPayment) else "refund", row.local_id, row.provider,
                 json.dumps(row.info or {}, default=str)]
                for code, row in self._rows(session)
            ),
        )  # fmt: skip

    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        session = _session(self)
        personal: set[str] = set()
        for _code, row in self._rows(session):
            if row.info:
                personal |= {value for value in _strings(row.info)}
                row.info = _mask_json(row.info)
            if isinstance(row, OrderRefund) and row.comment:
                personal.add(row.comment)
                row.comment = mask(row.comment)
        scrub_log_entries(session, self.event.id, personal)
        if progress is not None:
            progress(100)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


INVOICE_TEXT_FIELDS = (
    "invoice_to",
    "invoice_to_company",
    "invoice_to_name",
    "invoice_to_street",
    "invoice_to_zipcode",
    "invoice_to_city",
    "invoice_to_state",
    "invoice_to_vat_id",
    "invoice_to_beneficiary",
    "internal_reference",
    "custom_field",
)


class InvoiceShredder(DataShredder):
    """Invoices whose retention period is over: recipient data and the stored PDF.

    Invoices are accounting records the law makes organizers keep (typically ten years), so this shredder leaves
    younger invoices alone entirely; the period is the setting ``shredders_invoice_retention_years``.
    """

    identifier = "invoices"
    tax_relevant = True
    require_download_confirmation = True

    @property
    def verbose_name(self) -> str:
        return "Invoices"

    @property
    def description(self) -> str:
        return (
            "Removes recipient data and PDF files of invoices older than the legal retention period "
            "(setting shredders_invoice_retention_years); younger invoices are kept unchanged."
        )

    def _expired(self, session: Session) -> list[Invoice]:
        years = int((self.settings.get(RETENTION_SETTING) if self.settings is not None else None) or 10)
        today = clock.now().date()
        try:
            cutoff = today.replace(year=today.year - years)
        except ValueError:  # 29 February
            cutoff = date(today.year - years, 2, 28)
        return list(
            session.scalars(
                select(Invoice).where(Invoice.event_id == self.event.id, Invoice.date < cutoff).order_by(Invoice.id)
            )
        )

    def generate_files(self) -> Iterator[GeneratedFile]:
        session = _session(self)
        invoices = self._expired(session)
        yield _csv(
            "invoices.csv",
            ["Invoice number", "Date", "Name", "Company", "Address"],
            ((i.full_invoice_no, i.date, i.invoice_to_name, i.invoice_to_company, i.invoice_to) for i in invoices),
        )
        for invoice in invoices:
            if invoice.file_content:
                yield (
                    invoice.file_name or f"{invoice.full_invoice_no}.pdf",
                    invoice.file_content_type or "application/pdf",
                    invoice.file_content,
                )

    def shred_data(self, progress: Callable[[int], None] | None = None) -> None:
        session = _session(self)
        invoices = self._expired(session)
        step = _steps(progress, len(invoices))
        personal: set[str] = set()
        for invoice in invoices:
            values: dict[str, Any] = {}
            for field in INVOICE_TEXT_FIELDS:
                value = getattr(invoice, field)
                if value:
                    personal.add(value)
                    values[field] = mask(value)
            values["invoice_to_transmission_info"] = _mask_json(invoice.invoice_to_transmission_info or {})
            values["transmission_info"] = _mask_json(invoice.transmission_info or {})
            values["file_content"] = None
            values["file_name"] = None
            # Issued invoices refuse changes through the ORM (corrections are cancellations); removing them after
            # their retention period is the one deliberate exception, so it is written as plain UPDATEs.
            session.execute(update(Invoice).where(Invoice.id == invoice.id).values(**values))
            lines = list(session.execute(select(InvoiceLine.id, InvoiceLine.attendee_name, InvoiceLine.description)
                                         .where(InvoiceLine.invoice_id == invoice.id)))  # fmt: skip
            personal |= {name for _id, name, _text in lines if name}
            for line_id, name, description in lines:
                # Line texts may name the attendee ("Ticket - Ada Lovelace").
                session.execute(
                    update(InvoiceLine)
                    .where(InvoiceLine.id == line_id)
                    .values(attendee_name=mask(name), description=_mask_text(description, personal))
                )
            step()
        session.expire_all()
        scrub_log_entries(session, self.event.id, personal)
        if progress is not None:
            progress(100)


SHREDDERS = (
    EmailAddressShredder,
    PhoneNumberShredder,
    InvoiceAddressShredder,
    AttendeeInfoShredder,
    QuestionAnswerShredder,
    PaymentInfoShredder,
    InvoiceShredder,
)


@hookimpl
def register_data_shredders(event: Any) -> list[type[DataShredder]]:
    return list(SHREDDERS)
