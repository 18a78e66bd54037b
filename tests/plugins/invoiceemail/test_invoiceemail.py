"""The ``email_pdf`` transmission provider against a real SMTP server (aiosmtpd on the loopback interface): success,
temporary and permanent failures, retries by the periodic job, and that a plugin switched off is not offered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from invoicing_world import ACTOR, START, InvoiceWorld
from sqlalchemy import select

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import TransmissionProvider
from boxoffice.kernel import clock, invoicing
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.invoicing import transmission
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.invoices import Invoice
from boxoffice.kernel.models.mail import OutboxMail


def enable(world: InvoiceWorld, smtp: tuple[str, int, object], event: str = "conf", plugin: bool = True) -> None:
    host, port, _inbox = smtp
    with world.kernel.db.session() as session:
        session.get(Event, world.event_ids[event]).plugins = ["invoiceemail"] if plugin else []
    world.settings(event, smtp_use_custom=True, smtp_host=host, smtp_port=port, invoice_generate="True")


def only_invoice(world: InvoiceWorld, code: str) -> Invoice:
    (invoice,) = world.invoices(code)
    return invoice


def test_an_issued_invoice_is_mailed_as_pdf(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    code = invoice_world.place(locale="de")
    invoice = only_invoice(invoice_world, code)
    assert (invoice.transmission_status, invoice.transmission_provider) == ("completed", "email_pdf")
    assert invoice.transmission_info["recipient"] == "buyer@example.org"
    assert invoice.transmission_attempts == 1 and invoice.transmission_date == START
    _host, _port, inbox = smtp_server
    assert [recipients for _sender, recipients, _content in inbox.messages] == [["buyer@example.org"]]
    message = inbox.parsed()
    assert message["Subject"] == "Rechnung CONF-00001"
    assert message["From"] == "Org Events <tickets@localhost>"
    body = message.get_body(("plain",)).get_content()
    assert f"Bestellung {code}" in body and "CONF-00001" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "CONF-00001.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    with invoice_world.kernel.db.session() as session:
        sent = session.scalar(select(OutboxMail))
        assert (sent.kind, sent.status, sent.attempts) == ("invoice.transmission", "sent", 1)


def test_a_business_may_name_another_address(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    invoice_world.settings(invoice_generate="admin")
    code = invoice_world.place()
    with invoice_world.kernel.db.session() as session:
        order = invoice_world.order(session, code)
        order.invoice_address.transmission_info = {"transmission_email_address": "accounting@acme.example"}
    with invoice_world.kernel.db.session() as session:
        invoice = invoicing.issue_invoice(
            invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR
        )
        # Issued on request, the invoice waits for the transmit action.
        assert invoice.transmission_status == "pending"
        transmission.transmit(invoice_world.kernel, session, invoice)
    assert only_invoice(invoice_world, code).transmission_info["recipient"] == "accounting@acme.example"
    assert smtp_server[2].messages[0][1] == ["accounting@acme.example"]


def test_a_temporary_failure_is_retried_with_back_off(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    _host, _port, inbox = smtp_server
    inbox.refuse_with = "451 4.3.0 Mail server busy, try again later"
    code = invoice_world.place()
    invoice = only_invoice(invoice_world, code)
    assert invoice.transmission_status == "failed"
    assert "451" in invoice.transmission_error
    assert invoice.transmission_next_attempt == START + timedelta(minutes=5)
    kernel = invoice_world.kernel
    # Not due yet: nothing happens.
    assert kernel.jobs.status(kernel.jobs.enqueue(transmission.RETRY_JOB)).result == 0
    inbox.refuse_with = None
    with clock.time_machine(START + timedelta(minutes=6)):
        assert kernel.jobs.status(kernel.jobs.enqueue(transmission.RETRY_JOB)).result == 1
    invoice = only_invoice(invoice_world, code)
    assert (invoice.transmission_status, invoice.transmission_attempts) == ("completed", 2)
    assert invoice.transmission_next_attempt is None and invoice.transmission_error is None
    assert len(inbox.messages) == 1


def test_retries_stop_after_the_last_attempt(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    smtp_server[2].refuse_with = "421 4.7.0 Closing connection"
    code = invoice_world.place()
    kernel = invoice_world.kernel
    moment = START
    for _attempt in range(transmission.MAX_ATTEMPTS - 1):
        moment += timedelta(days=1)
        with clock.time_machine(moment):
            kernel.jobs.enqueue(transmission.RETRY_JOB)
    invoice = only_invoice(invoice_world, code)
    assert (invoice.transmission_status, invoice.transmission_attempts) == ("failed", transmission.MAX_ATTEMPTS)
    assert invoice.transmission_next_attempt is None


def test_a_permanent_refusal_is_not_retried(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    smtp_server[2].refuse_with = "550 5.1.1 Mailbox unknown"
    invoice = only_invoice(invoice_world, invoice_world.place())
    assert invoice.transmission_status == "failed" and "550" in invoice.transmission_error
    assert invoice.transmission_next_attempt is None


def test_an_unreachable_server_is_a_temporary_failure(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    _host, port, _inbox = smtp_server
    invoice_world.settings(smtp_port=1 if port != 1 else 2)
    invoice = only_invoice(invoice_world, invoice_world.place())
    assert invoice.transmission_status == "failed" and invoice.transmission_next_attempt is not None
    assert "Connection refused" in invoice.transmission_error or "Error" in invoice.transmission_error


def test_retransmit_sends_again_and_transmit_needs_a_pending_invoice(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    code = invoice_world.place()
    kernel = invoice_world.kernel
    with kernel.db.session() as session, pytest.raises(transmission.TransmissionRefused, match="retransmit"):
        transmission.transmit(kernel, session, session.get(Invoice, only_invoice(invoice_world, code).id))
    with kernel.db.session() as session:
        transmission.transmit(kernel, session, session.get(Invoice, only_invoice(invoice_world, code).id), again=True)
    assert only_invoice(invoice_world, code).transmission_status == "completed"
    assert len(smtp_server[2].messages) == 2


def test_a_plugin_switched_off_on_the_event_is_not_offered(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server, plugin=False)
    code = invoice_world.place()
    invoice = only_invoice(invoice_world, code)
    assert (invoice.transmission_status, invoice.transmission_provider) == ("pending", None)
    kernel = invoice_world.kernel
    with kernel.db.session() as session:
        event = session.get(Event, invoice_world.event_ids["conf"])
        assert transmission.offered_providers(kernel, event, "email", "DE", True) == []
        with pytest.raises(transmission.TransmissionRefused, match="No transmission provider"):
            transmission.transmit(kernel, session, session.get(Invoice, invoice.id))
    assert smtp_server[2].messages == []


def test_a_plugin_disabled_by_the_operator_is_not_offered(invoice_world: InvoiceWorld, smtp_server) -> None:
    enable(invoice_world, smtp_server)
    operator_off = Kernel(replace(invoice_world.kernel.config, disabled_plugins=("invoiceemail",)))
    try:
        with operator_off.db.session() as session:
            event = session.get(Event, invoice_world.event_ids["conf"])
            assert transmission.offered_providers(operator_off, event, "email", "DE", True) == []
    finally:
        operator_off.close()
    with invoice_world.kernel.db.session() as session:
        event = session.get(Event, invoice_world.event_ids["conf"])
        offered = transmission.offered_providers(invoice_world.kernel, event, "email", "DE", True)
        assert [provider.identifier for provider in offered] == ["email_pdf"]


class BrokenProvider(TransmissionProvider):
    identifier = "broken"
    type = "email"
    priority = 500

    @property
    def verbose_name(self) -> str:
        return "Broken"

    def is_ready(self, event: Any) -> bool:
        raise RuntimeError("misconfigured")

    def is_available(self, event: Any, country: str | None, is_business: bool) -> bool:
        return True

    def transmit(self, invoice: Any, context: Any) -> None:
        raise AssertionError("never offered")


class BrokenProviderPlugin:
    plugin_meta = PluginMeta(level="global", togglable=False)

    @hookimpl
    def register_transmission_providers(self, event: Any) -> type[TransmissionProvider]:
        return BrokenProvider


def test_a_provider_failing_its_checks_is_skipped(
    make_kernel: Callable[..., Kernel], invoice_world: InvoiceWorld, smtp_server
) -> None:
    enable(invoice_world, smtp_server)
    kernel = make_kernel(broken=BrokenProviderPlugin())
    with kernel.db.session() as session:
        event = session.get(Event, invoice_world.event_ids["conf"])
        offered = transmission.offered_providers(kernel, event, "email", "DE", False)
    assert [provider.identifier for provider in offered] == ["email_pdf"]
