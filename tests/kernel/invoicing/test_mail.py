"""The kernel mail service against a real SMTP server: texts rendered with the placeholders in the order's
language, the outbox and its retries, and what happens without any transport."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from invoicing_world import ACTOR, START, InvoiceWorld
from sqlalchemy import select

from boxoffice.kernel import clock, mail
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.mail import OutboxMail
from boxoffice.kernel.orders import lifecycle
from boxoffice.kernel.orders.errors import OrderError


def use_server(world: InvoiceWorld, smtp: tuple[str, int, object]) -> None:
    world.settings(smtp_use_custom=True, smtp_host=smtp[0], smtp_port=smtp[1], mail_from="tickets@org.example")


def outbox(world: InvoiceWorld) -> list[OutboxMail]:
    with world.kernel.db.session() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_the_order_link_mail_is_rendered_in_the_order_language(invoice_world: InvoiceWorld, smtp_server) -> None:
    use_server(invoice_world, smtp_server)
    invoice_world.settings(mail_reply_to="help@org.example")
    code = invoice_world.place(locale="de", email="kunde@example.org")
    with invoice_world.kernel.db.session() as session:
        lifecycle.resend_link(invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR)
    message = smtp_server[2].parsed()
    assert message["Subject"] == f"Ihre Bestellung: {code}"
    assert message["To"] == "kunde@example.org"
    assert message["From"] == "Org Events <tickets@org.example>"
    assert message["Reply-To"] == "help@org.example"
    body = message.get_body(("plain",)).get_content()
    # {event} and {organizer} come from the placeholder plugins, {url} from the mail itself.
    assert "Bestellung " + code + " für Conf" in body
    assert f"/org/conf/order/{code}/" in body and "Org Events" in body
    (sent,) = outbox(invoice_world)
    assert (sent.kind, sent.status, sent.recipients) == ("order.resend_link", "sent", ["kunde@example.org"])


def test_an_unreachable_server_leaves_the_mail_queued_until_the_retry_job_delivers_it(
    invoice_world: InvoiceWorld, smtp_server
) -> None:
    use_server(invoice_world, smtp_server)
    inbox = smtp_server[2]
    inbox.refuse_with = "451 4.3.0 Temporary failure"
    code = invoice_world.place()
    with invoice_world.kernel.db.session() as session:
        lifecycle.resend_link(invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR)
    (queued,) = outbox(invoice_world)
    assert (queued.status, queued.attempts, queued.next_attempt) == ("queued", 1, START + timedelta(minutes=1))
    assert "451" in queued.last_error
    kernel = invoice_world.kernel
    inbox.refuse_with = None
    assert kernel.jobs.status(kernel.jobs.enqueue(mail.RETRY_JOB)).result == 0
    with clock.time_machine(START + timedelta(minutes=2)):
        assert kernel.jobs.status(kernel.jobs.enqueue(mail.RETRY_JOB)).result == 1
    (sent,) = outbox(invoice_world)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert len(inbox.messages) == 1


def test_a_mail_is_given_up_after_its_last_attempt(invoice_world: InvoiceWorld, smtp_server) -> None:
    use_server(invoice_world, smtp_server)
    smtp_server[2].refuse_with = "452 4.2.2 Mailbox full"
    code = invoice_world.place()
    with invoice_world.kernel.db.session() as session:
        lifecycle.resend_link(invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR)
    kernel, moment = invoice_world.kernel, START
    for _ in range(10):
        moment += timedelta(hours=7)
        with clock.time_machine(moment):
            kernel.jobs.enqueue(mail.RETRY_JOB)
    (failed,) = outbox(invoice_world)
    assert (failed.status, failed.attempts, failed.next_attempt) == ("failed", 6, None)


def test_without_a_transport_nothing_is_queued(invoice_world: InvoiceWorld) -> None:
    code = invoice_world.place()
    with pytest.raises(mail.MailUnavailable), invoice_world.kernel.db.session() as session:
        lifecycle.resend_link(invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR)
    assert outbox(invoice_world) == []
    code = invoice_world.place(email=None)
    with pytest.raises(OrderError, match="no email address"), invoice_world.kernel.db.session() as session:
        lifecycle.resend_link(invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR)


def test_the_server_transport_comes_from_the_configuration(invoice_world: InvoiceWorld, smtp_server) -> None:
    host, port, inbox = smtp_server
    configured = Kernel(replace(invoice_world.kernel.config, mail_host=host, mail_port=port, mail_from="box@x.example"))
    try:
        code = invoice_world.place()
        with configured.db.session() as session:
            order = invoice_world.order(session, code)
            assert mail.transport(configured, configured.settings_for(session, event=order.event)) == mail.Transport(
                host, port
            )
            lifecycle.resend_link(configured, session, order, actor=ACTOR)
    finally:
        configured.close()
    assert inbox.messages[0][0] == "box@x.example"
    with invoice_world.kernel.db.session() as session:
        event = session.get(Event, invoice_world.event_ids["conf"])
        assert mail.transport(invoice_world.kernel, invoice_world.kernel.settings_for(session, event=event)) is None
