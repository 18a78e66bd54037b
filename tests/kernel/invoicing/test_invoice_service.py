"""The invoice service: what an invoice copies from its order, numbering and prefixes, cancellation documents,
reissue after changes, automatic issuing, immutability, rendering."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from invoicing_world import ACTOR, InvoiceWorld
from sqlalchemy import select

from boxoffice.kernel import invoicing
from boxoffice.kernel.models import LogEntry
from boxoffice.kernel.models.invoices import Invoice, InvoiceImmutable, InvoiceNumberCounter
from boxoffice.kernel.orders import lifecycle
from boxoffice.kernel.orders.errors import OrderError


def issue(world: InvoiceWorld, code: str) -> Invoice:
    with world.kernel.db.session() as session:
        invoice = invoicing.issue_invoice(world.kernel, session, world.order(session, code), actor=ACTOR)
        _ = invoice.lines
        return invoice


def test_an_invoice_copies_recipient_sender_lines_and_texts(invoice_world: InvoiceWorld) -> None:
    invoice_world.settings(
        invoice_address_from_name="Org Events GmbH",
        invoice_address_from="Messeweg 5",
        invoice_address_from_zipcode="20095",
        invoice_address_from_city="Hamburg",
        invoice_address_from_country="DE",
        invoice_address_from_vat_id="DE999999999",
        invoice_introductory_text={"en": "Thank you!", "de": "Vielen Dank!"},
        invoice_footer_text={"en": "Org Events GmbH · Hamburg"},
    )
    code = invoice_world.place(price="119.00", count=2, fee="11.90", locale="de")
    invoice = issue(invoice_world, code)
    assert invoice.full_invoice_no == "CONF-00001"
    assert invoice.date == date(2031, 3, 1)
    assert invoice.locale == "de"
    assert invoice.invoice_from_name == "Org Events GmbH"
    assert (invoice.invoice_from_city, invoice.invoice_from_vat_id) == ("Hamburg", "DE999999999")
    assert invoice.invoice_to.splitlines() == [
        "Acme GmbH",
        "Erika Mustermann",
        "Hauptstraße 1",
        "10115 Berlin",
        "Deutschland",
        "VAT-ID: DE123456789",
    ]
    assert invoice.invoice_to_is_business is True
    assert invoice.introductory_text == "Vielen Dank!"
    assert [
        (line.position, line.description, line.gross_value, line.tax_value, line.tax_name) for line in invoice.lines
    ] == [
        (1, "Eintrittskarte", Decimal("119.00"), Decimal("19.00"), "MwSt."),
        (2, "Eintrittskarte", Decimal("119.00"), Decimal("19.00"), "MwSt."),
        (3, "Servicegebühr", Decimal("11.90"), Decimal("1.90"), "MwSt."),
    ]
    assert invoice.lines[0].event_location == "Berlin"
    assert invoice.lines[2].fee_type == "service"
    assert invoice.total == Decimal("249.90")
    assert invoice.transmission_status == "pending"
    with invoice_world.kernel.db.session() as session:
        actions = session.scalars(select(LogEntry.action_type).where(LogEntry.object_type == "order")).all()
    assert "boxoffice.event.order.invoice.created" in actions


def test_an_order_gets_one_live_invoice_and_none_when_canceled(invoice_world: InvoiceWorld) -> None:
    code = invoice_world.place()
    issue(invoice_world, code)
    with pytest.raises(OrderError, match="already exists"):
        issue(invoice_world, code)
    other = invoice_world.place()
    with invoice_world.kernel.db.session() as session:
        lifecycle.mark_canceled(invoice_world.kernel, session, invoice_world.order(session, other), actor=ACTOR)
    with pytest.raises(OrderError, match="canceled"):
        issue(invoice_world, other)


def test_numbers_count_per_prefix_and_an_organizer_prefix_is_shared_by_its_events(invoice_world: InvoiceWorld) -> None:
    first, second = issue(invoice_world, invoice_world.place()), issue(invoice_world, invoice_world.place())
    fair = issue(invoice_world, invoice_world.place("fair"))
    assert [first.number, second.number, fair.number] == ["CONF-00001", "CONF-00002", "FAIR-00001"]
    invoice_world.organizer_settings(invoice_numbers_prefix="ORG-", invoice_numbers_counter_length=3)
    shared = [issue(invoice_world, invoice_world.place(event)).number for event in ("conf", "fair", "conf")]
    assert shared == ["ORG-001", "ORG-002", "ORG-003"]
    invoice_world.settings("fair", invoice_numbers_prefix="F26-")
    assert issue(invoice_world, invoice_world.place("fair")).number == "F26-001"


def test_a_rolled_back_invoice_gives_its_number_back(invoice_world: InvoiceWorld) -> None:
    first = invoice_world.place()
    issue(invoice_world, first)
    code = invoice_world.place()
    with pytest.raises(RuntimeError), invoice_world.kernel.db.session() as session:
        invoicing.issue_invoice(invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR)
        raise RuntimeError("the surrounding work failed")
    assert invoice_world.invoices(code) == []
    assert issue(invoice_world, code).number == "CONF-00002"


def test_a_cancellation_document_reverses_every_line(invoice_world: InvoiceWorld) -> None:
    invoice_world.settings(invoice_numbers_prefix_cancellations="STORNO-")
    code = invoice_world.place(price="119.00", count=3, fee="5.95")
    original = issue(invoice_world, code)
    with invoice_world.kernel.db.session() as session:
        cancellation = invoicing.cancel_invoice(
            invoice_world.kernel, session, session.get(Invoice, original.id), actor=ACTOR
        )
        _ = cancellation.lines
    assert cancellation.is_cancellation and cancellation.refers_id == original.id
    assert cancellation.number == "STORNO-00001"
    assert cancellation.invoice_to == original.invoice_to
    assert [line.gross_value for line in cancellation.lines] == [-line.gross_value for line in original.lines]
    assert [line.tax_value for line in cancellation.lines] == [-line.tax_value for line in original.lines]
    assert [line.tax_rate for line in cancellation.lines] == [line.tax_rate for line in original.lines]
    assert original.total == Decimal("362.95") and original.tax_total == Decimal("57.95")
    assert original.total + cancellation.total == Decimal("0.00")
    assert original.tax_total + cancellation.tax_total == Decimal("0.00")
    with invoice_world.kernel.db.session() as session, pytest.raises(OrderError, match="already been canceled"):
        invoicing.cancel_invoice(invoice_world.kernel, session, session.get(Invoice, original.id), actor=ACTOR)


def test_canceling_an_order_cancels_its_invoice_and_a_kept_fee_gets_a_new_one(invoice_world: InvoiceWorld) -> None:
    code = invoice_world.place(price="100.00", status="p")
    issue(invoice_world, code)
    with invoice_world.kernel.db.session() as session:
        lifecycle.mark_canceled(
            invoice_world.kernel,
            session,
            invoice_world.order(session, code),
            actor=ACTOR,
            cancellation_fee=Decimal("10"),
        )
    invoices = invoice_world.invoices(code)
    assert [(invoice.is_cancellation, invoice.total) for invoice in invoices] == [
        (False, Decimal("100.00")),
        (True, Decimal("-100.00")),
        (False, Decimal("10.00")),
    ]
    assert invoices[2].lines[0].fee_type == "cancellation"


def test_reissue_cancels_and_issues_from_the_changed_order(invoice_world: InvoiceWorld) -> None:
    code = invoice_world.place(price="50.00")
    original = issue(invoice_world, code)
    with invoice_world.kernel.db.session() as session:
        order = invoice_world.order(session, code)
        order.positions[0].price = Decimal("80.00")
        session.flush()
        replacement = invoicing.reissue_invoice(
            invoice_world.kernel, session, session.get(Invoice, original.id), actor=ACTOR
        )
        _ = replacement.lines
    assert replacement.number == "CONF-00003"
    assert replacement.total == Decimal("80.00")
    numbers = [(invoice.number, invoice.is_cancellation, invoice.refers_id) for invoice in invoice_world.invoices(code)]
    assert numbers == [("CONF-00001", False, None), ("CONF-00002", True, original.id), ("CONF-00003", False, None)]


def test_invoices_are_issued_on_placement_or_payment_as_configured(invoice_world: InvoiceWorld) -> None:
    assert invoice_world.invoices(invoice_world.place()) == []
    invoice_world.settings(invoice_generate="True")
    assert [invoice.number for invoice in invoice_world.invoices(invoice_world.place())] == ["CONF-00001"]
    invoice_world.settings(invoice_generate="paid")
    code = invoice_world.place()
    assert invoice_world.invoices(code) == []
    with invoice_world.kernel.db.session() as session:
        lifecycle.mark_paid(invoice_world.kernel, session, invoice_world.order(session, code), actor=ACTOR)
    paid = invoice_world.invoices(code)
    assert [invoice.number for invoice in paid] == ["CONF-00002"]
    # Issued after payment: the document says so.
    assert paid[0].payment_provider_stamp == "paid"  # English order
    # Rendered by the job started when the issuing transaction committed.
    assert paid[0].file_content.startswith(b"%PDF") and paid[0].renderer == "classic"


def test_an_issued_invoice_cannot_be_changed(invoice_world: InvoiceWorld) -> None:
    invoice = issue(invoice_world, invoice_world.place())
    with pytest.raises(InvoiceImmutable, match="invoice_to_name"), invoice_world.kernel.db.session() as session:
        session.get(Invoice, invoice.id).invoice_to_name = "Somebody else"
    with pytest.raises(InvoiceImmutable), invoice_world.kernel.db.session() as session:
        session.get(Invoice, invoice.id).lines[0].gross_value = Decimal("1.00")
    with invoice_world.kernel.db.session() as session:
        stored = session.get(Invoice, invoice.id)
        stored.transmission_status = "failed"
    assert invoice_world.invoices(invoice_world.order_code(invoice))[0].invoice_to_name == "Erika Mustermann"


def test_regenerate_renders_the_same_content_again(invoice_world: InvoiceWorld) -> None:
    invoice = issue(invoice_world, invoice_world.place())
    with invoice_world.kernel.db.session() as session:
        stored = session.get(Invoice, invoice.id)
        assert stored.file_content is not None
        invoicing.regenerate_invoice(invoice_world.kernel, session, stored, actor=ACTOR)
        assert stored.file_content.startswith(b"%PDF")
        assert session.scalar(select(InvoiceNumberCounter.last_number)) == 1
