"""The classic PDF renderer: the text a reader sees (in the invoice's language, amounts and dates through babel),
and the embedded Factur-X XML, which must be found by a Factur-X reader and validate against the EN 16931 schema."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from facturx import get_facturx_xml_from_pdf, get_level, xml_check_xsd
from invoicing_world import ACTOR, InvoiceWorld
from lxml import etree
from pypdf import PdfReader

from boxoffice.kernel import invoicing
from boxoffice.kernel.models.invoices import Invoice
from boxoffice.plugins.invoicepdf.facturx import NAMESPACES, tax_category


def issued(world: InvoiceWorld, code: str, *, cancel: bool = False) -> tuple[bytes, Invoice]:
    with world.kernel.db.session() as session:
        invoice = invoicing.issue_invoice(world.kernel, session, world.order(session, code), actor=ACTOR)
        if cancel:
            invoice = invoicing.cancel_invoice(world.kernel, session, invoice, actor=ACTOR)
        invoicing.render_invoice(world.kernel, session, invoice)
        _ = invoice.lines
        return invoice.file_content, invoice


def page_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def world(invoice_world: InvoiceWorld) -> InvoiceWorld:
    invoice_world.settings(
        invoice_address_from_name="Org Events GmbH",
        invoice_address_from="Messeweg 5",
        invoice_address_from_zipcode="20095",
        invoice_address_from_city="Hamburg",
        invoice_address_from_country="DE",
        invoice_address_from_vat_id="DE999999999",
        invoice_introductory_text={"en": "Thank you for your order.", "de": "Vielen Dank für Ihre Bestellung."},
        invoice_footer_text={"en": "Org Events GmbH - Amtsgericht Hamburg HRB 1"},
    )
    return invoice_world


def test_the_pdf_shows_the_invoice_in_its_language(world: InvoiceWorld) -> None:
    pdf, invoice = issued(world, world.place(price="1190.00", count=2, fee="11.90", locale="de"))
    text = page_text(pdf)
    assert pdf.startswith(b"%PDF")
    for expected in (
        "Rechnung CONF-00001",
        "Rechnungsdatum",
        "1. März 2031",
        "Eintrittskarte",
        "Servicegebühr",
        "Acme GmbH",
        "Erika Mustermann",
        "10115 Berlin",
        "Org Events GmbH",
        "USt-IdNr.: DE999999999",
        "Vielen Dank für Ihre Bestellung.",
        "1.000,00 €",  # net of one ticket, German separators
        "1.190,00 €",
        "MwSt. 19,00 %",
        "381,90 €",  # tax: 2 x 190.00 + 1.90
        "2.391,90 €",  # total
        "Amtsgericht Hamburg HRB 1",
    ):
        assert expected in text, expected
    assert invoice.total == Decimal("2391.90")


def test_an_english_invoice_uses_english_words_and_formats(world: InvoiceWorld) -> None:
    pdf, _invoice = issued(world, world.place(price="1190.00", locale="en"))
    text = page_text(pdf)
    assert "Invoice CONF-00001" in text and "March 1, 2031" in text and "€1,190.00" in text


def test_the_factur_x_xml_is_embedded_and_valid(world: InvoiceWorld) -> None:
    pdf, invoice = issued(world, world.place(price="119.00", count=2, fee="11.90"))
    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["factur-x.xml"]
    assert "/AF" in reader.trailer["/Root"]
    assert b"factur-x" in reader.trailer["/Root"]["/Metadata"].get_object().get_data().lower()
    filename, xml = get_facturx_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    assert get_level(etree.fromstring(xml)) == "en16931"
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)

    def value(path: str) -> str:
        return root.xpath(path, namespaces=NAMESPACES)[0].text

    assert value("//rsm:ExchangedDocument/ram:ID") == invoice.number
    assert value("//rsm:ExchangedDocument/ram:TypeCode") == "380"
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
    assert value(summation + "ram:LineTotalAmount") == "210.00"
    assert value(summation + "ram:TaxTotalAmount") == "39.90"
    assert value(summation + "ram:GrandTotalAmount") == "249.90"
    assert value("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "DE999999999"
    assert value("//ram:BuyerTradeParty/ram:Name") == "Acme GmbH"
    assert len(root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NAMESPACES)) == 3


def test_a_cancellation_is_a_valid_credit_note_referring_to_the_invoice(world: InvoiceWorld) -> None:
    pdf, cancellation = issued(world, world.place(price="119.00"), cancel=True)
    assert "Stornorechnung" in page_text(pdf) or "Cancellation" in page_text(pdf)
    assert "CONF-00001" in page_text(pdf)
    _filename, xml = get_facturx_xml_from_pdf(pdf, check_xsd=True)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)
    assert root.xpath("//rsm:ExchangedDocument/ram:TypeCode", namespaces=NAMESPACES)[0].text == "381"
    assert root.xpath("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=NAMESPACES)[0].text == (
        "CONF-00001"
    )
    # A credit note states positive amounts; the type code says they are credited.
    assert root.xpath("//ram:GrandTotalAmount", namespaces=NAMESPACES)[0].text == "119.00"
    assert cancellation.total == Decimal("-119.00")


@pytest.mark.parametrize(
    ("code", "rate", "category"),
    [("S/standard", "19", "S"), ("S/reduced", "7", "S"), ("AE", "0", "AE"), (None, "0", "Z"), (None, "10", "S")],
)
def test_tax_codes_map_to_en16931_categories(code: str | None, rate: str, category: str) -> None:
    assert tax_category(code, Decimal(rate)) == category
