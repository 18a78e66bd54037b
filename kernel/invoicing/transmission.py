"""Delivering issued invoices through transmission providers, with status, retries and back-off.

Status flow (``transmission_status``): ``pending`` → ``inflight`` (a job is handing the invoice to a provider) →
``completed``, or ``failed``. A failed transmission that may succeed later keeps ``transmission_next_attempt``; the
periodic job ``core.retry_transmissions`` tries it again then, up to :data:`MAX_ATTEMPTS` times, and also picks up
invoices left ``inflight`` by a crashed worker. Whether a provider is offered depends on the plugins active on the
event: a disabled plugin's providers are never chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from boxoffice.hookspecs.providers import (
    TRANSMISSION_COMPLETED,
    TRANSMISSION_FAILED,
    TRANSMISSION_INFLIGHT,
    TRANSMISSION_PENDING,
    GeneratedFile,
    SimpleTextPlaceholder,
    TransmissionFailed,
    TransmissionProvider,
    TransmissionType,
)
from boxoffice.kernel import clock
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.invoices import Invoice

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.settings import Settings

logger = logging.getLogger(__name__)

TRANSMIT_JOB = "core.transmit_invoice"
RETRY_JOB = "core.retry_transmissions"
MAX_ATTEMPTS = 5
# A transmission still inflight after this long was abandoned by its worker and is started again.
STUCK_AFTER = timedelta(hours=1)
RETRY_BATCH = 50


class TransmissionRefused(Exception):
    """The invoice cannot be transmitted now (``conflict`` when one is already in progress: the API's 409)."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.conflict = conflict


def transmission_types(kernel: Kernel) -> dict[str, TransmissionType]:
    return {
        kind.identifier: kind
        for _owner, kind in kernel.plugins.collect(kernel.plugins.hook.register_transmission_types)
        if isinstance(kind, TransmissionType)
    }


def providers(kernel: Kernel, event: Event) -> list[TransmissionProvider]:
    """The providers of the plugins active on ``event``, best first."""
    found: dict[str, TransmissionProvider] = {}
    for _owner, provider_class in kernel.plugins.for_event(event).collect(
        "register_transmission_providers", event=event
    ):
        if isinstance(provider_class, type) and issubclass(provider_class, TransmissionProvider):
            found.setdefault(provider_class.identifier, provider_class())
    return sorted(found.values(), key=lambda provider: -provider.priority)


def offered_providers(
    kernel: Kernel, event: Event, type_identifier: str, country: str | None, is_business: bool, testmode: bool = False
) -> list[TransmissionProvider]:
    """Providers that could transmit an invoice of this type to such a recipient now, best first.

    A provider whose checks raise is left out (and logged): a broken plugin must not stop an order from being placed
    or paid, which is when invoices are issued and transmissions chosen."""
    offered = []
    for provider in providers(kernel, event):
        if provider.type != type_identifier or (testmode and not provider.testmode_supported):
            continue
        try:
            usable = provider.is_ready(event) and provider.is_available(event, country, is_business)
        except Exception:
            logger.exception("transmission provider %s failed its availability check", provider.identifier)
            continue
        if usable:
            offered.append(provider)
    return offered


def choose_provider(kernel: Kernel, invoice: Invoice) -> TransmissionProvider | None:
    offered = offered_providers(
        kernel,
        invoice.event,
        invoice.transmission_type,
        invoice.invoice_to_country or None,
        bool(invoice.invoice_to_is_business),
        invoice.order.testmode,
    )
    return offered[0] if offered else None


def start(kernel: Kernel, session: Session, invoice: Invoice) -> bool:
    """Hand a pending invoice to its provider once the caller's transaction commits; ``False`` when no provider is
    offered (the invoice stays pending, and ``transmit`` may be asked again once a provider is set up)."""
    if invoice.transmission_status != TRANSMISSION_PENDING:
        return False
    provider = choose_provider(kernel, invoice)
    if provider is None:
        return False
    invoice.transmission_provider = provider.identifier
    invoice.transmission_status = TRANSMISSION_INFLIGHT
    invoice.transmission_date = clock.now()
    invoice.transmission_next_attempt = None
    session.flush()
    kernel.jobs.enqueue_on_commit(session, TRANSMIT_JOB, invoice_id=invoice.id)
    return True


def transmit(kernel: Kernel, session: Session, invoice: Invoice, *, again: bool = False) -> None:
    """The API's ``transmit`` (pending invoices only) and ``retransmit`` (``again``: any status but inflight)."""
    if invoice.transmission_status == TRANSMISSION_INFLIGHT:
        raise TransmissionRefused("The invoice is being transmitted right now.", conflict=True)
    if not again and invoice.transmission_status != TRANSMISSION_PENDING:
        raise TransmissionRefused(
            f"The invoice is not waiting for transmission (status {invoice.transmission_status}); use retransmit."
        )
    if again:
        invoice.transmission_status = TRANSMISSION_PENDING
        invoice.transmission_attempts = 0
        invoice.transmission_error = None
    if not start(kernel, session, invoice):
        raise TransmissionRefused(
            f"No transmission provider for the type {invoice.transmission_type!r} is available for this invoice."
        )


class KernelTransmissionContext:
    """What a provider gets in ``transmit``: the unit of work, the event's settings, the file and the mail service."""

    def __init__(self, kernel: Kernel, session: Session, invoice: Invoice) -> None:
        self.kernel = kernel
        self.session = session
        self.invoice = invoice
        self.settings: Settings = kernel.settings_for(session, event=invoice.event)

    def invoice_file(self) -> GeneratedFile:
        from boxoffice.kernel.invoicing.service import invoice_file

        return invoice_file(self.kernel, self.session, self.invoice)

    def send_mail(
        self,
        to: Sequence[str],
        subject: str | Mapping[str, str],
        body: str | Mapping[str, str],
        *,
        attachments: Sequence[GeneratedFile] = (),
        context: Mapping[str, Any] | None = None,
    ) -> str:
        from boxoffice.kernel import mail

        order = self.invoice.order
        # Values only this mail knows; a plugin placeholder of the same name takes precedence.
        extra = [
            SimpleTextPlaceholder("invoice_number", ("invoice",), lambda invoice: invoice.number, "INV-00001"),
            SimpleTextPlaceholder("code", ("order",), lambda found: found.code, "F8VVL"),
        ]
        try:
            queued = mail.queue_mail(
                self.kernel,
                self.session,
                event=self.invoice.event,
                to=to,
                kind="invoice.transmission",
                subject=subject,
                body=body,
                context={"invoice": self.invoice, **(context or {})},
                locale=self.invoice.locale,
                order=order,
                attachments=attachments,
                extra_placeholders=extra,
                max_attempts=1,
                deliver_on_commit=False,
            )
        except mail.MailUnavailable as problem:
            raise TransmissionFailed(str(problem), retry=False) from None
        except ValueError as problem:
            raise TransmissionFailed(str(problem), retry=False) from None
        try:
            mail.deliver(self.kernel, self.session, queued)
        except mail.DeliveryFailed as failure:
            raise TransmissionFailed(str(failure), retry=failure.temporary) from None
        return queued.message_id or ""


def retry_delay(attempts: int) -> timedelta:
    """5, 20, 80 … minutes after the 1st, 2nd, 3rd failure (at most a day)."""
    return min(timedelta(minutes=5 * 4 ** max(attempts - 1, 0)), timedelta(days=1))


def run_transmission(kernel: Kernel, session: Session, invoice: Invoice) -> str:
    """Hand an inflight invoice to its provider and record the outcome; returns the new status."""
    provider = next(
        (
            candidate
            for candidate in providers(kernel, invoice.event)
            if candidate.identifier == invoice.transmission_provider
        ),
        None,
    ) or choose_provider(kernel, invoice)
    invoice.transmission_attempts += 1
    retry = True
    try:
        if provider is None:
            raise TransmissionFailed("No transmission provider is available for this invoice any more.", retry=False)
        invoice.transmission_provider = provider.identifier
        info = provider.transmit(invoice, KernelTransmissionContext(kernel, session, invoice))
    except TransmissionFailed as failure:
        error, retry = failure.message, failure.retry
    except Exception as failure:
        logger.exception("transmission provider failed on invoice %s", invoice.full_invoice_no)
        error = f"internal error in the transmission provider: {type(failure).__name__}"
    else:
        invoice.transmission_status = TRANSMISSION_COMPLETED
        invoice.transmission_info = {**(invoice.transmission_info or {}), **(info or {})}
        invoice.transmission_date = clock.now()
        invoice.transmission_error = None
        invoice.transmission_next_attempt = None
        _log(kernel, session, invoice, "transmitted", provider=invoice.transmission_provider)
        return TRANSMISSION_COMPLETED
    invoice.transmission_status = TRANSMISSION_FAILED
    invoice.transmission_date = clock.now()
    invoice.transmission_error = error[:2000]
    due = retry and invoice.transmission_attempts < MAX_ATTEMPTS
    invoice.transmission_next_attempt = clock.now() + retry_delay(invoice.transmission_attempts) if due else None
    _log(kernel, session, invoice, "transmission_failed", error=invoice.transmission_error, retry=due)
    return TRANSMISSION_FAILED


def _log(kernel: Kernel, session: Session, invoice: Invoice, action: str, **data: Any) -> None:
    from boxoffice.kernel.audit import Actor
    from boxoffice.kernel.invoicing.service import ACTION

    kernel.log_action(
        session, invoice.order, ACTION + action, actor=Actor.system(), data={"invoice": invoice.full_invoice_no, **data}
    )


def _claim(session: Session, invoice_id: int, statuses: tuple[str, ...]) -> Invoice | None:
    return session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id, Invoice.transmission_status.in_(statuses))
        .with_for_update(skip_locked=True)
    )


def transmit_invoice_job(context: Any, invoice_id: int) -> str:
    """Job ``core.transmit_invoice``: transmit one invoice that was set inflight."""
    kernel: Kernel = context.kernel
    with context.session() as session:
        invoice = _claim(session, invoice_id, (TRANSMISSION_INFLIGHT,))
        if invoice is None:
            return "not inflight"
        return run_transmission(kernel, session, invoice)


def retry_transmissions_job(context: Any) -> int:
    """Periodic job ``core.retry_transmissions``: retry failed transmissions that are due and inflight ones whose
    worker vanished; returns how many completed."""
    kernel: Kernel = context.kernel
    moment = clock.now()
    with context.session() as session:
        due = list(
            session.scalars(
                select(Invoice.id)
                .where(
                    or_(
                        (Invoice.transmission_status == TRANSMISSION_FAILED)
                        & (Invoice.transmission_next_attempt <= moment),
                        (Invoice.transmission_status == TRANSMISSION_INFLIGHT)
                        & (Invoice.transmission_date < moment - STUCK_AFTER),
                    )
                )
                .order_by(Invoice.id)
                .limit(RETRY_BATCH)
            )
        )
    completed = 0
    for invoice_id in due:
        with context.session() as session:
            invoice = _claim(session, invoice_id, (TRANSMISSION_FAILED, TRANSMISSION_INFLIGHT))
            if invoice is None:
                continue
            invoice.transmission_status = TRANSMISSION_INFLIGHT
            invoice.transmission_date = clock.now()
            if run_transmission(kernel, session, invoice) == TRANSMISSION_COMPLETED:
                completed += 1
    return completed


__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_JOB",
    "TRANSMIT_JOB",
    "KernelTransmissionContext",
    "TransmissionRefused",
    "choose_provider",
    "offered_providers",
    "providers",
    "retry_transmissions_job",
    "run_transmission",
    "start",
    "transmission_types",
    "transmit",
    "transmit_invoice_job",
]
